# Faster R-CNN R-50 FPN on VOC07+12 initialised from a COLT ticket found on ImageNet
# (configs/colt_resnet50_imagenet.py ->
#  work_dirs/colt_resnet50_imagenet/tickets/final.safetensors).
#   mode='rewind': masked theta0 of the ticket; mode='trained': the masked ImageNet-trained weights
#   method='ticket': keep the ticket's mask fixed;
#   method='colt': continue COLT rounds on VOC from it
_base_ = ['./colt_faster_rcnn_voc.py']
ticket_path = 'work_dirs/colt_resnet50_imagenet/tickets/final.safetensors'
colt = dict(
    method='ticket',
    init_ticket=dict(path=ticket_path, mode='trained',
                     # classifier names -> detector names; the classifier head is dropped
                     key_map={'backbone.': 'backbone.'}))
work_dir = 'work_dirs/colt_faster_rcnn_voc_imagenet_ticket'
