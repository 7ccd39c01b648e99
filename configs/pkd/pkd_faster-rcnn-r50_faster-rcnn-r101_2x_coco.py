# PKD on a two-stage detector as the reference code runs it (MMRazor 1.x, configs/distill/mmdet/
# pkd/pkd_fpn_faster-rcnn_r101_faster-rcnn_r50_2x_coco.py): Faster R-CNN R101 2x teacher, Faster
# R-CNN R50 student, 2x, the FPN levels P2-P5 (not P6, a max-pool of P5), one PKD loss of weight
# 6 per level. Reference README: 38.4 -> 40.3 bbox mAP.
# The teacher's weights: mmdet's model zoo checkpoint of faster-rcnn_r101_fpn_2x_coco.
_base_ = ['../_base_/distill_faster-rcnn-r50_faster-rcnn-r101_2x_coco.py']

model = dict(
    kd_terms=dict(
        pkd=dict(loss=dict(type='mmkd.PKDLoss', loss_weight=6.0),
                 inputs=['s_neck', 't_neck'], levels=[0, 1, 2, 3])))
