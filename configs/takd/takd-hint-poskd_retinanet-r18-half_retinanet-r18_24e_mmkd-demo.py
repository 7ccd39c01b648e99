# TAKD step 1 on the benchmark pair (Mirzadeh et al., AAAI 2020): the 24-epoch demo teacher
# (RetinaNet R18, FPN-128) distilled into the half-width teacher assistant (R18/2, FPN-64) with
# the demo's terms, 24 epochs on all 400 train images, as the teacher was trained. The benchmark
# queue (configs/demo/benchmark_queue.txt) trains it and exports its student for step 2,
# takd-hint-poskd_retinanet-r18-narrow_retinanet-r18-half_48e_mmkd-demo-student.py.
_base_ = ['./takd-hint-poskd_retinanet-r18-half_retinanet-r18_12e_mmkd-demo.py']

model = dict(teacher=dict(config='{{ fileDirname }}/../demo/retinanet_r18_fpn_24e_mmkd-demo.py',
                          checkpoint='work_dirs/demo/teacher/epoch_24.pth'))
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[18], gamma=0.1),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
