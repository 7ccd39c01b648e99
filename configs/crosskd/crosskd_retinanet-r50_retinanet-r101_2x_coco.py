# CrossKD, the reference RetinaNet setting (jbwang1997/CrossKD, configs/crosskd/crosskd_r50_
# retinanet_r101_fpn_2x_coco.py): RetinaNet R101 2x teacher, RetinaNet R50 student, 2x. The
# student's head features after 3 of its 4 convs per tower continue through the teacher's
# fourth conv and output convs (model.cross_layer=3); quality-focal KD on the scores of every
# valid anchor (weight 1) and GIoU between the cross-head and the teacher's decoded boxes at
# every anchor, weighted by the teacher's largest score (weight 1), both divided by the number
# of positives. Reference README: 37.4 -> 39.7 bbox mAP. The teacher's weights: mmdet's model zoo
# checkpoint of retinanet_r101_fpn_2x_coco. docs/crosskd.md.
_base_ = ['../_base_/distill_retinanet-r50_retinanet-r101_2x_coco.py',
          '../_base_/crosskd_anchor_terms.py']

model = dict(cross_layer=3, kd_terms={{_base_.crosskd_anchor_terms}})
