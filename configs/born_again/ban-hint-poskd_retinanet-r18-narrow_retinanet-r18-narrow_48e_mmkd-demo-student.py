# A born-again generation (Furlanello et al., ICML 2018) of the demo's benchmark student: the
# teacher is the same architecture, the converged 48-epoch student on its 200 images
# (work_dirs/demo/ban_teacher/epoch_48.pth: python tools/train.py
# configs/demo/retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py --work-dir
# work_dirs/demo/ban_teacher). The KD terms are the demo distill config's (hint on P3, P4 + logit
# KD on the positive anchors); with equal channels the hint needs no adapter.
# configs/born_again/README.md.
_base_ = ['../demo/hint-poskd_retinanet-r18-narrow_retinanet-r18_48e_mmkd-demo-student.py']

model = dict(
    teacher=dict(
        config='{{ fileDirname }}/../demo/retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py',
        checkpoint='work_dirs/demo/ban_teacher/epoch_48.pth'))
