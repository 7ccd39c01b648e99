# FGFI (imitation on the locations whose anchors overlap GT boxes) on all five FPN levels of the
# demo RetinaNet. Settings and measured results: configs/fgfi/README.md.
_base_ = ['../_base_/distill_retinanet_mmkd-demo-student.py']

model = dict(
    kd_terms=dict(
        fgfi=dict(
            loss=dict(type='mmkd.FineGrainedImitationLoss', thr_ratio=0.5, loss_weight=0.01),
            inputs=['s_neck', 't_neck', 'priors', 'gt_bboxes'],
            adapter=dict(type='mmkd.ConvAdapter', kernel_size=3, always=True))))
