# The smaller student of the full method: Faster R-CNN with a ResNet-18 (ImageNet weights from
# torchvision), classification losses weighted mu = 0.5.
_base_ = ['./faster-rcnn_r50_fpn_hard-0.5_1x_coco.py']

model = dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512]))
