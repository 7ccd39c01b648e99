# DeFeat (decoupled foreground / background feature imitation) on all five FPN levels of the
# demo RetinaNet. Settings and measured results: configs/defeat/README.md.
_base_ = ['../demo/retinanet_r18-narrow_fpn_12e_mmkd-demo.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='{{ fileDirname }}/../demo/retinanet_r18_fpn_12e_mmkd-demo.py',
        checkpoint='work_dirs/demo/teacher/epoch_12.pth'),
    kd_terms=dict(
        defeat=dict(
            loss=dict(type='mmkd.DecoupledFeatureLoss', fg_weight=3.0, bg_weight=12.0,
                      loss_weight=1.0),
            inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape'],
            adapter=dict(type='mmkd.ConvAdapter', kernel_size=3, always=True))))
