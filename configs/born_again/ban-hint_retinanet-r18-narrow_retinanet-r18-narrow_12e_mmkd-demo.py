# A born-again generation with the hint alone (FitNet MSE on P3, P4, weight 3, warmed up over
# 50 iterations): the previous generation's positive-anchor scores are no more confident than
# the student's own, and with the demo's logit KD term as well the generation lost to its
# teacher (configs/born_again/README.md). tools/distill_chain.py fills model.teacher.
_base_ = ['./ban-hint-poskd_retinanet-r18-narrow_retinanet-r18-narrow_12e_mmkd-demo.py']

model = dict(kd_terms=dict(_delete_=True, hint=dict(
    loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=3.0),
    inputs=['s_neck', 't_neck'], levels=[0, 1])))
