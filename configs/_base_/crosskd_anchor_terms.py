# CrossKD's terms for an anchor head that regresses deltas (RetinaNet, ATSS), as the reference
# RetinaNet and ATSS configs set them (jbwang1997/CrossKD), both divided by the positives of the
# student's assignment: quality-focal KD between the cross head's and the teacher's scores at
# every valid anchor (beta 1, weight 1), and 1 - GIoU of the boxes both decode at every anchor,
# weighted by the teacher's largest score (weight 1). docs/crosskd.md.
# Use as model.kd_terms={{_base_.crosskd_anchor_terms}}.
crosskd_anchor_terms = dict(
    cross_cls=dict(
        loss=dict(type='mmkd.QualityFocalKDLoss', beta=1.0, loss_weight=1.0),
        inputs=['s_cross_cls_rows', 't_cls_rows', 'cls_row_weights', 'cls_avg_factor']),
    cross_reg=dict(
        loss=dict(type='mmdet.GIoULoss', loss_weight=1.0),
        inputs=['s_cross_boxes', 't_boxes', 't_score_weights', 'cls_avg_factor']))
