# The full method of Chen et al. on the demo RetinaNet: bounded regression + class-weighted soft
# labels + a hint on the neck (P3, P4, where the digits are assigned; 1x1 adapters 32 -> 128,
# gamma = 0.5 times the demo hint's weight 3). Results: configs/bounded_reg/README.md.
_base_ = ['./bounded-reg-soft_retinanet-r18-narrow_retinanet-r18_48e_mmkd-demo-student.py']

model = dict(kd_terms=dict(
    hint=dict(
        loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=1.5),
        inputs=['s_neck', 't_neck'], levels=[0, 1])))
custom_hooks = [dict(type='mmkd.KDWeightScheduleHook', schedules=dict(hint=dict(warmup=50)))]
