# CrossKD, the reference GFL setting (jbwang1997/CrossKD, configs/crosskd/crosskd_r50_gflv1_
# r101-2x-ms_fpn_1x_coco.py at commit b0c5a76): GFL R101 multi-scale 2x teacher, GFL R50
# student, 1x. The student's head features after 3 of its 4 convs per tower continue through the
# teacher's fourth conv and output layers (model.cross_layer=3); the cross-head predictions learn
# the teacher's: quality-focal KD on the scores of every valid anchor (weight 1, divided by the
# positives), and the KL divergence of the edge distributions (T = 1, summed over the bins) at
# every anchor weighted by the teacher's largest score (weight 4, divided by the weights' sum).
# Reference README: 40.2 -> 43.7 bbox mAP. The teacher's weights: mmdet's model zoo checkpoint
# of gfl_r101_fpn_ms-2x_coco. docs/crosskd.md.
_base_ = ['../_base_/distill_gfl-r50_gfl-r101_1x_coco.py',
          '../_base_/crosskd_gfl_terms.py']

model = dict(
    cross_layer=3,
    kd_terms={{_base_.crosskd_gfl_terms}})
