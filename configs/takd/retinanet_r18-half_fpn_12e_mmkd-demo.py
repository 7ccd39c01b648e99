# The demo's teacher assistant: the demo RetinaNet with a half-width ResNet-18 (32 base channels)
# and a 64-channel FPN and head, between the teacher (64 base, 128) and the student (16 base, 32).
_base_ = ['../demo/retinanet_r18_fpn_12e_mmkd-demo.py']

model = dict(
    backbone=dict(base_channels=32),
    neck=dict(in_channels=[32, 64, 128, 256], out_channels=64),
    bbox_head=dict(in_channels=64, feat_channels=64))
