# Demo segmentation student of the benchmark pair: the PSPNet R18 at a quarter of the teacher's
# width again (stem and stages of 8-64 channels, a 16-channel head), trained on the segmentation
# student split, the first 50 of the 400 train images its teacher saw
# (splits/train_seg_student.txt), for 1600 iterations of 8 images. On 200 images the same
# student comes within a few mIoU of the teacher (configs/demo/README.md).
_base_ = ['./pspnet_r18-w16-d8_0.8k_mmkd-demo.py']

max_iters = 1600
model = dict(
    backbone=dict(stem_channels=8, base_channels=8),
    decode_head=dict(in_channels=64, channels=16),
    auxiliary_head=dict(in_channels=32, channels=8))
train_dataloader = dict(dataset=dict(ann_file='splits/train_seg_student.txt'))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=50, end=max_iters, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
