# BCKD, the reference GFL setting (TinyTigerPan/BCKD, configs/bckd/bckd_r50_gflv1_r101_fpn_coco_
# 1x.py): GFL R101 multi-scale 2x teacher, GFL R50 student, 1x. Binary classification KD on the
# scores (weight 1) and IoU-based localization KD on the boxes (weight 4) at every valid anchor,
# divided by the positives. Reference README: 40.1 -> 43.2 bbox mAP. The teacher's weights:
# mmdet's model zoo checkpoint of gfl_r101_fpn_ms-2x_coco (the reference's). docs/bckd.md.
_base_ = ['../_base_/distill_gfl-r50_gfl-r101_1x_coco.py',
          '../_base_/bckd_gfl_terms.py']

model = dict(kd_terms={{_base_.bckd_gfl_terms}})
