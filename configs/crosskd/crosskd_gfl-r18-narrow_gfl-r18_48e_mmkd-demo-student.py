# CrossKD on the GFL benchmark pair: the narrow GFL student on 200 images (48 epochs,
# gfl_r18-narrow_fpn_48e_mmkd-demo-student.py) and the 24-epoch GFL teacher trained on all 400
# (gfl_r18_fpn_24e_mmkd-demo.py). Both heads have 2 convs per tower; the student's first conv
# (32 channels, a 1x1 adapter per tower to the teacher's 128) continues through the teacher's
# second conv and output layers (model.cross_layer=1, the reference's "all but the last conv").
# The reference GFL terms and weights (crosskd_gfl-r50_gfl-r101_1x_coco.py). docs/crosskd.md,
# results: configs/crosskd/README.md.
_base_ = ['../demo/gfl_r18-narrow_fpn_48e_mmkd-demo-student.py',
          '../_base_/crosskd_gfl_terms.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='{{ fileDirname }}/../demo/gfl_r18_fpn_24e_mmkd-demo.py',
        checkpoint='work_dirs/demo/gfl_teacher/epoch_24.pth'),
    cross_layer=1,
    kd_terms={{_base_.crosskd_gfl_terms}})
