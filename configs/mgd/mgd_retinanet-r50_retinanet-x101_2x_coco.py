# MGD, the reference RetinaNet setting (yzd-v/MGD, det/configs/distillers/mgd/retina_rx101_64x4d_
# distill_retina_r50_fpn_2x_coco.py): RetinaNet ResNeXt-101 (64x4d) teacher, RetinaNet R50
# student, 2x schedule, the five FPN levels P3-P7 (one MGD loss per level, alpha 2e-5, 65% of the
# positions masked), the inheriting strategy (the student's neck and head start from the
# teacher's weights, model.inherit) and gradients clipped at norm 35. Reference README: 37.4 ->
# 41.0 bbox mAP. The reference teacher's weights are mmdet's multi-scale 3x RetinaNet X101
# (retinanet_x101_64x4d_fpn_mstrain_3x_coco_20210719_051838-022c2187.pth), built from the 1x
# config as the reference does; download them to checkpoints/.
_base_ = ['../_base_/distill_retinanet-r50_retinanet-x101_2x_coco.py']

model = dict(
    teacher=dict(checkpoint='checkpoints/retinanet_x101_64x4d_fpn_mstrain_3x_coco_20210719_'
                            '051838-022c2187.pth'),
    inherit=['neck', 'bbox_head'],
    kd_terms=dict(
        mgd=dict(loss=dict(type='mmkd.MGDLoss', student_channels=256, teacher_channels=256,
                           alpha_mgd=2e-5, lambda_mgd=0.65),
                 inputs=['s_neck', 't_neck'])))
optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
