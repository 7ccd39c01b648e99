# LD, main region, on the GFL benchmark pair: the narrow GFL student on 200 images (48 epochs,
# gfl_r18-narrow_fpn_48e_mmkd-demo-student.py) distils the 24-epoch GFL teacher trained on all 400
# (gfl_r18_fpn_24e_mmkd-demo.py) with the terms of ld_gfl-r18-narrow_gfl-r18_12e_mmkd-demo.py:
# the edge distributions (reg_max 16, T = 10, weight 0.25) at the student's positives, weighted
# by its own largest class score and divided by their sum, the KL summed over the bins.
_base_ = ['../demo/gfl_r18-narrow_fpn_48e_mmkd-demo-student.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='{{ fileDirname }}/../demo/gfl_r18_fpn_24e_mmkd-demo.py',
        checkpoint='work_dirs/demo/gfl_teacher/epoch_24.pth'),
    kd_terms=dict(
        ld=dict(
            loss=dict(type='mmkd.LocalizationDistillationLoss', temperature=10.0,
                      loss_weight=0.25, bin_reduction='sum'),
            inputs=['s_pos_bins', 't_pos_bins', 'pos_bin_weights', 'pos_bin_avg_factor'])))
