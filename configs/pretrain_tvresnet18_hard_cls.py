# Pretraining the detector backbone "as real detectors start" (issue #13, item 3): a
# half-width torchvision-layout ResNet-18 (base width 32, mmdet names) trained dense on the hard
# shapes as an ImageFolder set (colt_det/hard_voc.py: make_hard_cls, 20 classes x 600 train
# images, 48x48), the CPU-sized stand-in for ImageNet. Its final ticket (dense mask + trained
# values) initialises the hard detector: configs/colt_faster_rcnn_hard_pretrained.py (the
# benchmark's default theta0 is its 32-epoch run, configs/pretrain_tvresnet18_hard_cls_32ep.py).
# 16 epochs, ~11 min on 2 CPU cores.
_base_ = ['./colt_tvresnet18_demo_cls.py']
demo_data = 'cls_hard'
data_root = 'data/demo/cls_hard'
dataset_name = 'hard_shapes20'
_split = dict(root=data_root, img_size=48, norm='imagenet')  # the detector's normalisation
train_dataloader = dict(dataset=_split)
val_dataloader = dict(dataset=_split)
test_dataloader = dict(dataset=_split)
model = dict(num_classes=20, backbone=dict(base_width=32))
param_scheduler = [dict(type='CosineAnnealingLR', T_max=16, by_epoch=True)]
colt = dict(method='dense', num_partitions=1, final_train_cfg=dict(max_epochs=16,
                                                                   val_interval=4))
work_dir = 'work_dirs/pretrain_tvresnet18_hard_cls'
