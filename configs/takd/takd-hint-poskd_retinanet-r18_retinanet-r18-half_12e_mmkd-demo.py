# TAKD step 1 (Mirzadeh et al., AAAI 2020): the trained demo teacher (RetinaNet R18, FPN-128)
# distilled into the teacher assistant (R18 at half width, FPN-64) with the demo's terms: a hint
# on P3, P4 (1x1 adapters 64 -> 128 channels) and logit KD on the positive anchors. Step 2 is
# takd-hint-poskd_retinanet-r18-half_retinanet-r18-narrow_12e_mmkd-demo.py; the chain
# takd_retinanet-r18_retinanet-r18-half_retinanet-r18-narrow_chain_mmkd-demo.py runs both.
# configs/takd/README.md.
_base_ = ['./retinanet_r18-half_fpn_12e_mmkd-demo.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(config='{{ fileDirname }}/../demo/retinanet_r18_fpn_12e_mmkd-demo.py',
                 checkpoint='work_dirs/demo/teacher/epoch_12.pth'),
    kd_terms=dict(
        hint=dict(
            loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=3.0),
            inputs=['s_neck', 't_neck'],
            levels=[0, 1]),
        cls_pos=dict(
            loss=dict(type='mmkd.LogitKDLoss', temperature=2.0, num_anchors=9, loss_weight=2.0),
            inputs=['s_cls_scores', 't_cls_scores', 'pos_mask', 'num_pos'])))
custom_hooks = [dict(type='mmkd.KDWeightScheduleHook', schedules=dict(hint=dict(warmup=50)))]
