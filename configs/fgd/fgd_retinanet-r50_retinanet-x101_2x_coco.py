# FGD, the reference code's RetinaNet setting (yzd-v/FGD, fgd_retina_rx101_64x4d_distill_
# retina_r50_fpn_2x_coco): RetinaNet ResNeXt-101 (64x4d) 1x teacher, RetinaNet R50 student, 2x
# schedule, the five FPN levels P3-P7, the reference cell rule (cells='reference', FGDLoss's
# default) and the inheriting strategy: the student's neck and head start from the teacher's
# weights (model.inherit). Reference README: 37.4 -> 40.7 bbox mAP.
# The teacher's weights: mmdet's model zoo checkpoint of retinanet_x101-64x4d_fpn_1x_coco.
_base_ = ['../_base_/distill_retinanet-r50_retinanet-x101_2x_coco.py']

model = dict(
    inherit=['neck', 'bbox_head'],
    kd_terms=dict(
        fgd=dict(
            loss=dict(type='mmkd.FGDLoss', student_channels=256, teacher_channels=256,
                      temperature=0.5, alpha_fgd=1e-3, beta_fgd=5e-4, gamma_fgd=5e-4,
                      lambda_fgd=5e-6),
            inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape'])))
