# LD from a teacher that regresses continuous distances: the demo FCOS teacher's box at each of
# the GFL student's positives, as distances from the student's anchor centre in its stride units,
# spread over the two nearest of the student's 17 bins. That target is already soft, so T = 1
# (at T = 10 the two bins would be nearly equal); weight 1. Results: configs/ld/README.md.
_base_ = ['./ld_gfl-r18-narrow_gfl-r18_12e_mmkd-demo.py']

model = dict(
    teacher=dict(
        config='{{ fileDirname }}/../demo/fcos_r18_fpn_12e_mmkd-demo.py',
        checkpoint='work_dirs/demo/fcos_teacher/epoch_12.pth'),
    kd_terms=dict(ld=dict(loss=dict(temperature=1.0, loss_weight=1.0))))
