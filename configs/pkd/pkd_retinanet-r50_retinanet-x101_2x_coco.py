# PKD, the reference RetinaNet setting (MMRazor 1.x, configs/distill/mmdet/pkd/pkd_fpn_retina_
# x101_retina_r50_2x_coco.py): RetinaNet ResNeXt-101 (64x4d) 1x teacher, RetinaNet R50 student,
# 2x schedule, the first four FPN outputs (P3-P6), one PKD loss of weight 10 per level. The
# teacher runs its backbone and neck only. Reference README: 37.4 -> 40.8 bbox mAP.
# The teacher's weights: mmdet's model zoo checkpoint of retinanet_x101-64x4d_fpn_1x_coco.
_base_ = ['../_base_/distill_retinanet-r50_retinanet-x101_2x_coco.py']

model = dict(
    kd_terms=dict(
        pkd=dict(loss=dict(type='mmkd.PKDLoss', loss_weight=10.0),
                 inputs=['s_neck', 't_neck'], levels=[0, 1, 2, 3])))
