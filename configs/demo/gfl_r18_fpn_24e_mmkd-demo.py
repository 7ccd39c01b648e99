# Demo GFL teacher of the benchmark pair (for LD): the 12-epoch GFL teacher trained for 24 epochs
# on all 400 train images (lr x 0.1 after epoch 18), as the RetinaNet teacher of
# retinanet_r18_fpn_24e_mmkd-demo.py is.
_base_ = ['./gfl_r18_fpn_12e_mmkd-demo.py']

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[18], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
