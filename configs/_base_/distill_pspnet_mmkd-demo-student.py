# The demo's segmentation distillation pair under the benchmark protocol: the w8 PSPNet student
# on the first 50 train images (its own config: data, schedule, optimizer) and the w16 PSPNet
# teacher trained 3000 iterations on all 400 (`make demo-seg` trains it). Method configs add
# their kd_terms.
_base_ = ['../demo/pspnet_r18-w8-d8_1.6k_mmkd-demo-student.py']

model = dict(
    _delete_=True,
    type='mmkd.SegmentationDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='{{ fileDirname }}/../demo/pspnet_r18-w16-d8_3k_mmkd-demo.py',
        checkpoint='work_dirs/demo/seg_teacher/iter_3000.pth'),
    kd_terms=dict())
