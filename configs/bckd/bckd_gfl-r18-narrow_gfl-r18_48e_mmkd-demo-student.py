# BCKD on the GFL benchmark pair: the narrow GFL student on 200 images (48 epochs,
# gfl_r18-narrow_fpn_48e_mmkd-demo-student.py) and the 24-epoch GFL teacher trained on all 400
# (gfl_r18_fpn_24e_mmkd-demo.py), with the reference terms and weights
# (bckd_gfl-r50_gfl-r101_1x_coco.py). Neither term reads features, so the heads' other widths
# need no adapter. docs/bckd.md, results: configs/bckd/README.md.
_base_ = ['../demo/gfl_r18-narrow_fpn_48e_mmkd-demo-student.py',
          '../_base_/bckd_gfl_terms.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='{{ fileDirname }}/../demo/gfl_r18_fpn_24e_mmkd-demo.py',
        checkpoint='work_dirs/demo/gfl_teacher/epoch_24.pth'),
    kd_terms={{_base_.bckd_gfl_terms}})
