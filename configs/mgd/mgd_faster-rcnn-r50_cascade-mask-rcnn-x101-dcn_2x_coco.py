# MGD on a two-stage student as the reference code runs it (yzd-v/MGD, det/configs/distillers/mgd/
# cascade_mask_rcnn_rx101_32x4d_distill_faster_rcnn_r50_fpn_2x_coco.py): Cascade Mask R-CNN
# ResNeXt-101 32x4d with DCN in c3-c5, 1x teacher, Faster R-CNN R50 student, 2x, the FPN levels
# P2-P5 (not P6, a max-pool of P5), alpha 5e-7, 45% of the positions masked, no inheriting (the
# heads differ), gradients clipped at norm 35. Reference README: 38.4 -> 42.1 bbox mAP.
# The teacher's weights: mmdet's model zoo checkpoint of
#   cascade_mask_rcnn_x101_32x4d_fpn_dconv_c3-c5_1x_coco-e75f90c8.pth.
_base_ = ['../_base_/distill_faster-rcnn-r50_faster-rcnn-r101_2x_coco.py']

model = dict(
    teacher=dict(
        config='mmdet::dcn/cascade-mask-rcnn_x101-32x4d-dconv-c3-c5_fpn_1x_coco.py',
        checkpoint='checkpoints/cascade_mask_rcnn_x101_32x4d_fpn_dconv_c3-c5_1x_coco-e75f90c8.pth'),
    kd_terms=dict(
        mgd=dict(loss=dict(type='mmkd.MGDLoss', student_channels=256, teacher_channels=256,
                           alpha_mgd=5e-7, lambda_mgd=0.45),
                 inputs=['s_neck', 't_neck'], levels=[0, 1, 2, 3])))
optim_wrapper = dict(clip_grad=dict(max_norm=35, norm_type=2))
