# SKD's pixel-wise term alone on the demo with the 1500-iteration student schedule
# (configs/demo/pspnet_r18-w16-d8_1.5k_mmkd-demo.py). Measured results: configs/skd/README.md.
_base_ = ['./skd-pixel_pspnet-r18-w16_pspnet-r18-w32_0.8k_mmkd-demo.py']

max_iters = 1500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=50, end=max_iters, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
