# The demo's two KD terms, shared by the demo distill configs (configs/demo/README.md):
# - hint: a FitNet-style hint on the FPN levels P3 and P4 (strides 8 and 16, where the demo's
#   26-53 px digits are assigned); a 1x1 adapter per level lifts the student's channels to the
#   teacher's, and the mean squared difference to the teacher's feature is the loss;
# - cls_pos: logit KD (per-class binary KL, T=2) on the anchors the student's assigner marks
#   positive, normalised by their number like the student's focal loss.
# Use as model.kd_terms={{_base_.hint_poskd_terms}} and custom_hooks=[{{_base_.hint_warmup}}].
hint_poskd_terms = dict(
    hint=dict(
        loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=3.0),
        inputs=['s_neck', 't_neck'],
        levels=[0, 1]),
    cls_pos=dict(
        loss=dict(type='mmkd.LogitKDLoss', temperature=2.0, num_anchors=9, loss_weight=2.0),
        inputs=['s_cls_scores', 't_cls_scores', 'pos_mask', 'num_pos']))
# The hint starts at 0 and reaches its full weight after 50 iterations, while the adapters are
# still random; the current weights are logged as kd_weight_<term>.
hint_warmup = dict(type='mmkd.KDWeightScheduleHook', schedules=dict(hint=dict(warmup=50)))
