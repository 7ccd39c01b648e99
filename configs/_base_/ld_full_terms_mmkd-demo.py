# LD's full method on the demo GFL pairs, added to the main region's `ld` term: the valuable
# localization region (alpha_vl 0.25, T = 10, weight 0.25) and classification KD on the positives
# (softmax KL over the 10 classes, T = 2; the paper's weight 10 is for a KL averaged over the
# classes, here summed: 10 / 10). The region and the normalisation are mmkd's of the measured
# demo runs (vlr_mode='score', the KL summed over the bins, divided by the sum of the weights);
# the COCO config takes the reference code's (docs/ld.md).
# Use as model=dict(vlr_alpha=0.25, vlr_mode='score', kd_terms={{_base_.ld_full_terms}}).
ld_full_terms = dict(
    ld_vlr=dict(
        loss=dict(type='mmkd.LocalizationDistillationLoss', temperature=10.0, loss_weight=0.25,
                  bin_reduction='sum'),
        inputs=['s_vlr_bins', 't_vlr_bins', 'vlr_bin_weights', 'pos_bin_avg_factor']),
    cls_kd=dict(
        loss=dict(type='mmkd.LogitKDLoss', temperature=2.0, use_sigmoid=False, loss_weight=1.0),
        inputs=['s_pos_cls', 't_pos_cls', None, 'num_pos']))
