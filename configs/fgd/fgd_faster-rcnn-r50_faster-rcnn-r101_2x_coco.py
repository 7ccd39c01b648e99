# FGD on a two-stage detector as the reference code runs it (fgd_faster_rcnn_r101_fpn_2x_distill_
# faster_rcnn_r50_fpn_2x_coco): Faster R-CNN R101 2x teacher, Faster R-CNN R50 student, 2x, the
# FPN levels P2-P5 (not P6, a max-pool of P5), the two-stage weights, the inheriting strategy
# (neck, RPN and RoI heads from the teacher). The reference README's 38.4 -> 42.0 is of the
# Cascade Mask R-CNN X101 teacher: fgd_faster-rcnn-r50_cascade-mask-rcnn-x101-dcn_2x_coco.py.
# The teacher's weights: mmdet's model zoo checkpoint of faster-rcnn_r101_fpn_2x_coco.
_base_ = ['../_base_/distill_faster-rcnn-r50_faster-rcnn-r101_2x_coco.py']

model = dict(
    inherit=['neck', 'rpn_head', 'roi_head'],
    kd_terms=dict(
        fgd=dict(
            loss=dict(type='mmkd.FGDLoss', student_channels=256, teacher_channels=256,
                      temperature=0.5, alpha_fgd=5e-5, beta_fgd=2.5e-5, gamma_fgd=5e-5,
                      lambda_fgd=5e-7),
            inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape'],
            levels=[0, 1, 2, 3])))
