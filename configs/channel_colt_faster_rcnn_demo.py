# Channel-level COLT (N=2) on the demo detector: whole inner channels of every ResNet block are
# pruned, so tools/export_ticket.py --slim turns the ticket into a smaller, faster detector.
_base_ = ['./colt_faster_rcnn_demo.py']
colt = dict(granularity='channel', prune_scope='layer')
work_dir = 'work_dirs/channel_colt_faster_rcnn_demo'
