# LD, the full method, on the GFL benchmark pair: the main region of
# ld_gfl-r18-narrow_gfl-r18_48e_mmkd-demo-student.py + the valuable localization region
# (alpha_vl 0.25, T = 10, weight 0.25) + classification KD on the positives (softmax KL over the
# 10 classes, T = 2, weight 10 / 10): the terms of ld-full_gfl-r18-narrow_gfl-r18_12e_mmkd-demo.py
# with mmkd's demo normalisation (docs/ld.md). Results: configs/ld/README.md.
_base_ = ['./ld_gfl-r18-narrow_gfl-r18_48e_mmkd-demo-student.py']

model = dict(
    vlr_alpha=0.25,
    vlr_mode='score',
    kd_terms=dict(
        ld_vlr=dict(
            loss=dict(type='mmkd.LocalizationDistillationLoss', temperature=10.0,
                      loss_weight=0.25, bin_reduction='sum'),
            inputs=['s_vlr_bins', 't_vlr_bins', 'vlr_bin_weights', 'pos_bin_avg_factor']),
        cls_kd=dict(
            loss=dict(type='mmkd.LogitKDLoss', temperature=2.0, use_sigmoid=False,
                      loss_weight=1.0),
            inputs=['s_pos_cls', 't_pos_cls', None, 'num_pos'])))
