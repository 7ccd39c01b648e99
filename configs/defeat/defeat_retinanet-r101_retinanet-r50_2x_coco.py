# DeFeat's feature part on RetinaNet: R101 teacher, R50 student, 2x schedule, all five FPN levels,
# a 3x3 adaptation conv per level initialised from N(0, 1e-4^2) as in the paper.
# Paper (with its head KD, which this config does not include): 36.5 -> 39.7 bbox mAP (README).
# The teacher's weights: mmdet's model zoo checkpoint of retinanet_r101_fpn_2x_coco.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::retinanet/retinanet_r101_fpn_2x_coco.py',
        checkpoint='checkpoints/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth'),
    kd_terms=dict(
        defeat=dict(
            loss=dict(type='mmkd.DecoupledFeatureLoss', fg_weight=3.0, bg_weight=12.0),
            inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape'],
            adapter=dict(type='mmkd.ConvAdapter', kernel_size=3, always=True, init_std=1e-4))))
