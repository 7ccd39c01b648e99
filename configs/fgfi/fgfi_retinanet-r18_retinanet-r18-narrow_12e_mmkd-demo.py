# FGFI (imitation on the locations whose anchors overlap GT boxes) on all five FPN levels of the
# demo RetinaNet. Settings and measured results: configs/fgfi/README.md.
_base_ = ['../demo/retinanet_r18-narrow_fpn_12e_mmkd-demo.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='{{ fileDirname }}/../demo/retinanet_r18_fpn_12e_mmkd-demo.py',
        checkpoint='work_dirs/demo/teacher/epoch_12.pth'),
    kd_terms=dict(
        fgfi=dict(
            loss=dict(type='mmkd.FineGrainedImitationLoss', thr_ratio=0.5, loss_weight=0.01),
            inputs=['s_neck', 't_neck', 'priors', 'gt_bboxes'],
            adapter=dict(type='mmkd.ConvAdapter', kernel_size=3, always=True))))
