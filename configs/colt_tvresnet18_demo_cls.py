# COLT on the demo ImageFolder set with a torchvision-layout ResNet-18: its tickets have mmdet
# ResNet names (backbone.layer1.0.conv1.weight, ...) and initialise the demo detector
# (configs/ticket_faster_rcnn_demo.py): the CPU-sized stand-in for ImageNet -> VOC transfer.
_base_ = ['./colt_smallconv_demo.py']
model = dict(backbone=dict(_delete_=True, type='TVResNet', depth=18))
train_dataloader = dict(dataset=dict(img_size=64))
val_dataloader = dict(dataset=dict(img_size=64))
test_dataloader = dict(dataset=dict(img_size=64))
colt = dict(target_sparsity=0.8, prune_ratio=0.3)
work_dir = 'work_dirs/colt_tvresnet18_demo_cls'
