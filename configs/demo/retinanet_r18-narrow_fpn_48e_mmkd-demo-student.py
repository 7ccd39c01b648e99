# Demo student: the narrow RetinaNet (ResNet-18 of 16 base channels, FPN and head of 32) trained
# on the student split, the first 200 of the 400 train images its teacher saw
# (annotations/instances_train_student.json), for 48 epochs of 25 iterations (lr x 0.1 after
# epoch 36). At this length it has converged: 96 epochs gain about 0.01 (configs/demo/README.md).
_base_ = ['./retinanet_r18-narrow_fpn_12e_mmkd-demo.py']

max_epochs = 48
train_dataloader = dict(dataset=dict(ann_file='annotations/instances_train_student.json'))
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[36], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
