# Distil the narrow demo student from the demo teacher: FitNet-style hint on the FPN levels (a 1x1
# adapter lifts the student's 32 channels to the teacher's 128) and logit KD on the dense head.
_base_ = ['./retinanet_r18-narrow_fpn_12e_mmkd-demo.py']

teacher_config = '{{ fileDirname }}/retinanet_r18_fpn_12e_mmkd-demo.py'
model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config=teacher_config,
        checkpoint='work_dirs/demo/teacher/epoch_12.pth'),
    kd_terms=dict(
        hint=dict(
            loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=1.0),
            inputs=['s_neck', 't_neck'],
            levels='all'),
        cls=dict(
            loss=dict(type='mmkd.LogitKDLoss', temperature=2.0, num_anchors=9, loss_weight=1.0),
            inputs=['s_cls_scores', 't_cls_scores'],
            levels='all')))
# The hint starts at 0 and reaches its full weight after the first epoch (50 iterations), while
# the student's adapters are still random; the current weights are logged as kd_weight_<term>.
custom_hooks = [dict(type='mmkd.KDWeightScheduleHook', schedules=dict(hint=dict(warmup=50)))]
