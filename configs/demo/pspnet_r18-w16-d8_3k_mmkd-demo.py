# Demo segmentation teacher of the benchmark pair: the half-width PSPNet R18 (stages of 16-128
# channels, a 32-channel head; pspnet_r18-w16-d8_0.8k_mmkd-demo.py) trained for 3000 iterations
# of 8 images on all 400 train images (about 7 minutes on 2 CPU cores). At 1500 iterations the
# same model reaches about 51 mIoU, at 3000 about 73.5 (configs/demo/README.md).
_base_ = ['./pspnet_r18-w16-d8_0.8k_mmkd-demo.py']

max_iters = 3000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=50, end=max_iters, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
