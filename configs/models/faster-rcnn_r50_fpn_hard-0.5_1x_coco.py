# mmdet's Faster R-CNN R50 with its classification losses (RPN and RCNN) weighted mu = 0.5: the
# hard part of Chen et al.'s L_cls = mu L_hard + (1 - mu) L_soft. The student of the full method.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']

mu = 0.5
model = dict(
    rpn_head=dict(loss_cls=dict(loss_weight=mu)),
    roi_head=dict(bbox_head=dict(loss_cls=dict(loss_weight=mu))))
