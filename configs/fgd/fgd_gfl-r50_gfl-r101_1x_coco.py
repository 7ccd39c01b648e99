# FGD on GFL as the reference code runs it (fgd_gfl_r101_fpn_mstrain_2x_distill_gfl_r50_fpn_1x_
# coco): GFL R101 multi-scale 2x teacher, GFL R50 student on the 1x schedule (the reference README's
# 40.2 baseline is GFL R50 1x), P3-P7, the inheriting strategy. Reference README: 40.2 -> 43.5.
# The teacher's weights: mmdet's model zoo checkpoint of gfl_r101_fpn_ms-2x_coco.
_base_ = ['../_base_/distill_gfl-r50_gfl-r101_1x_coco.py']

model = dict(
    inherit=['neck', 'bbox_head'],
    kd_terms=dict(
        fgd=dict(
            loss=dict(type='mmkd.FGDLoss', student_channels=256, teacher_channels=256,
                      temperature=0.5, alpha_fgd=1e-3, beta_fgd=5e-4, gamma_fgd=5e-4,
                      lambda_fgd=5e-6),
            inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape'])))
