# The demo distillation pair: the narrow RetinaNet student (its own config: data, schedule,
# optimizer) and the trained demo RetinaNet teacher. Method configs add their kd_terms.
_base_ = ['../demo/retinanet_r18-narrow_fpn_12e_mmkd-demo.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='{{ fileDirname }}/../demo/retinanet_r18_fpn_12e_mmkd-demo.py',
        checkpoint='work_dirs/demo/teacher/epoch_12.pth'),
    kd_terms=dict())
