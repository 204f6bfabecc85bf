# Faster R-CNN R-18 FPN slimmed for CPU: FPN 64 ch, 300 train proposals, 64 RoIs/image,
# small RoI head (~0.6 s/iter at batch 8, 96x96 on 2 cores).
# backbone.init_cfg=None: nothing is downloaded; theta0 is the seeded random init (or a
# local checkpoint / ticket, see configs/colt_faster_rcnn_voc_imagenet_ticket.py).
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py']
model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(depth=18, norm_eval=False, frozen_stages=-1, init_cfg=None),
    neck=dict(in_channels=[64, 128, 256, 512], out_channels=64),
    rpn_head=dict(in_channels=64, feat_channels=64,
                  anchor_generator=dict(scales=[4], ratios=[0.5, 1.0, 2.0])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=10)),
    train_cfg=dict(
        # ignore_iof_thr >= 0: objects of other partitions (policy 'ignore') are not sampled
        # as background
        rpn=dict(assigner=dict(ignore_iof_thr=0.5), sampler=dict(num=128)),
        rpn_proposal=dict(nms_pre=600, max_per_img=300),
        rcnn=dict(assigner=dict(ignore_iof_thr=0.5), sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=50)))
