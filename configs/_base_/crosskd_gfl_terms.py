# CrossKD's GFL terms as the reference GFL config sets them (jbwang1997/CrossKD, commit b0c5a76),
# shared by the COCO and demo configs: quality-focal KD between the cross head's and the teacher's
# scores at every valid anchor (beta 1, weight 1, divided by the positives), and the KL
# divergence of the edge distributions (T = 1, summed over the bins) at every anchor weighted by
# the teacher's largest score (weight 4, divided by the weights' sum). docs/crosskd.md.
# Use as model.kd_terms={{_base_.crosskd_gfl_terms}}.
crosskd_gfl_terms = dict(
    cross_cls=dict(
        loss=dict(type='mmkd.QualityFocalKDLoss', beta=1.0, loss_weight=1.0),
        inputs=['s_cross_cls_rows', 't_cls_rows', 'cls_row_weights', 'cls_avg_factor']),
    cross_reg=dict(
        loss=dict(type='mmkd.LocalizationDistillationLoss', temperature=1.0,
                  bin_reduction='sum', loss_weight=4.0),
        inputs=['s_cross_bins', 't_bins', 't_score_bin_weights', 't_score_bin_avg_factor']))
