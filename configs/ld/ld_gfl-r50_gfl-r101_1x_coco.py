# LD, main region: GFL R101 teacher, GFL R50 student, 1x. Paper: 40.1 -> 41.0 bbox mAP.
_base_ = ['./ld_gfl-r18_gfl-r101_1x_coco.py']

model = dict(student=dict(
    backbone=dict(depth=50, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(in_channels=[256, 512, 1024, 2048])))
