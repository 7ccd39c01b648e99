# The demo's distilled student: the converged 200-image student of
# retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py distilled from the 24-epoch teacher (trained
# on all 400 images) with the two terms of the 12-epoch demo config: a hint on P3, P4 (w=3,
# 1x1 adapters, warmed up over the first 50 iterations) and logit KD on the positive anchors
# (T=2, w=2). Settings and measured results: configs/demo/README.md.
_base_ = ['./retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='{{ fileDirname }}/retinanet_r18_fpn_24e_mmkd-demo.py',
        checkpoint='work_dirs/demo/teacher/epoch_24.pth'),
    kd_terms=dict(
        hint=dict(
            loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=3.0),
            inputs=['s_neck', 't_neck'],
            levels=[0, 1]),
        cls_pos=dict(
            loss=dict(type='mmkd.LogitKDLoss', temperature=2.0, num_anchors=9, loss_weight=2.0),
            inputs=['s_cls_scores', 't_cls_scores', 'pos_mask', 'num_pos'])))
custom_hooks = [dict(type='mmkd.KDWeightScheduleHook', schedules=dict(hint=dict(warmup=50)))]
