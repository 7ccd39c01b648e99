# Chen et al.'s full method with a smaller student: Faster R-CNN R101 teacher, R18 student
# (ImageNet weights from torchvision), 1x; every term and weight as in the R50 config.
_base_ = ['./bounded-reg-full_faster-rcnn-r50_faster-rcnn-r101_1x_coco.py']

model = dict(student=dict(
    backbone=dict(depth=18, init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet18')),
    neck=dict(in_channels=[64, 128, 256, 512])))
