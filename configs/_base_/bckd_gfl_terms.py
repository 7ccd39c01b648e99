# BCKD's two terms as the reference GFL config sets them (TinyTigerPan/BCKD,
# configs/bckd/bckd_r50_gflv1_r101_fpn_coco_1x.py), shared by the COCO and demo configs, both on
# every valid anchor of every level and divided by the positives of the student's assignment:
# - binary classification distillation: each class's sigmoid score a binary cross-entropy
#   against the teacher's, times their distance (quality-focal KD, beta 1, weight 1);
# - localization distillation: 1 - GIoU of the student's and the teacher's boxes, each anchor
#   weighted by the largest gap between the two classifiers' scores there (weight 4).
# docs/bckd.md. Use as model.kd_terms={{_base_.bckd_gfl_terms}}.
bckd_gfl_terms = dict(
    bckd_cls=dict(
        loss=dict(type='mmkd.QualityFocalKDLoss', beta=1.0, loss_weight=1.0),
        inputs=['s_cls_rows', 't_cls_rows', 'cls_row_weights', 'cls_avg_factor']),
    bckd_loc=dict(
        loss=dict(type='mmkd.BCKDLocalizationLoss', mode='giou', loss_weight=4.0),
        inputs=['s_boxes', 't_boxes', 's_cls_rows', 't_cls_rows', 'cls_row_weights',
                'cls_avg_factor']))
