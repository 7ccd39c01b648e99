# The demo segmentation distillation pair: the w16 PSPNet student (its own config: data, schedule,
# optimizer) and the trained w32 demo PSPNet teacher. Method configs add their kd_terms.
_base_ = ['../demo/pspnet_r18-w16-d8_0.8k_mmkd-demo.py']

model = dict(
    _delete_=True,
    type='mmkd.SegmentationDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='{{ fileDirname }}/../demo/pspnet_r18-w32-d8_1.5k_mmkd-demo.py',
        checkpoint='work_dirs/demo/seg_teacher/iter_1500.pth'),
    kd_terms=dict())
