# Demo GFL student: the GFL teacher with a quarter-width ResNet-18 (16 base channels) and a
# 32-channel FPN and head.
_base_ = ['./gfl_r18_fpn_12e_mmkd-demo.py']

model = dict(
    backbone=dict(base_channels=16),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    bbox_head=dict(in_channels=32, feat_channels=32))
