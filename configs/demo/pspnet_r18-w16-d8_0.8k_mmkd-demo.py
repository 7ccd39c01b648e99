# Demo segmentation student: the teacher's PSPNet ResNet-18 at half its width again (stem and
# stages 16-128 channels) with a 32-channel head, trained for 800 iterations of 8 images (the
# teacher 1500).
_base_ = ['./pspnet_r18-w32-d8_1.5k_mmkd-demo.py']

max_iters = 800
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    decode_head=dict(in_channels=128, channels=32),
    auxiliary_head=dict(in_channels=64, channels=16))
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=50, end=max_iters, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
