# Demo GFL student of the benchmark pair (for LD): the narrow GFL (ResNet-18 of 16 base channels,
# FPN and head of 32) on the student split, the first 200 of the 400 train images its teacher saw
# (annotations/instances_train_student.json), for 48 epochs (lr x 0.1 after epoch 36), as the
# RetinaNet student of retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py is.
_base_ = ['./gfl_r18-narrow_fpn_12e_mmkd-demo.py']

max_epochs = 48
train_dataloader = dict(dataset=dict(ann_file='annotations/instances_train_student.json'))
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[36], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
