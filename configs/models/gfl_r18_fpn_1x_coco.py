# The LD paper's small student: mmdet's GFL R50 1x with a ResNet-18 (ImageNet weights from
# torchvision).
_base_ = ['mmdet::gfl/gfl_r50_fpn_1x_coco.py']

model = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]))
