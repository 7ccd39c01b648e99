# LD, main region: the narrow demo GFL student distils the demo GFL teacher's edge distributions
# (reg_max 16, T = 10, weight 0.25) at its positives, weighted by its own largest class score and
# divided by their sum, as GFL divides its box losses, the KL summed over the bins: mmkd's
# normalisation of the measured demo runs (the COCO configs take the reference code's,
# docs/ld.md).
_base_ = ['../demo/gfl_r18-narrow_fpn_12e_mmkd-demo.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='{{ fileDirname }}/../demo/gfl_r18_fpn_12e_mmkd-demo.py',
        checkpoint='work_dirs/demo/gfl_teacher/epoch_12.pth'),
    kd_terms=dict(
        ld=dict(
            loss=dict(type='mmkd.LocalizationDistillationLoss', temperature=10.0,
                      loss_weight=0.25, bin_reduction='sum'),
            inputs=['s_pos_bins', 't_pos_bins', 'pos_bin_weights', 'pos_bin_avg_factor'])))
