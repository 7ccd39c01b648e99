# The demo's distillation pair under the benchmark protocol: the converged 200-image narrow
# RetinaNet student (its own config: data, 48-epoch schedule, optimizer) and the 24-epoch demo
# teacher trained on all 400 images (`make demo` trains it). Method configs add their kd_terms.
_base_ = ['../demo/retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='{{ fileDirname }}/../demo/retinanet_r18_fpn_24e_mmkd-demo.py',
        checkpoint='work_dirs/demo/teacher/epoch_24.pth'),
    kd_terms=dict())
