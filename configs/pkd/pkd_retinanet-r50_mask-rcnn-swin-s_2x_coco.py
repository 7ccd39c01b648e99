# PKD, the reference setting for a teacher of another architecture (MMRazor 1.x,
# configs/distill/mmdet/pkd/pkd_fpn_mask_rcnn_swin_retina_r50_2x_coco.py): a two-stage Mask
# R-CNN Swin-S teacher for a one-stage RetinaNet R50 student, 2x schedule, one PKD loss of
# weight 6 on each of the first four FPN outputs. Reference README: 37.4 -> 41.5 bbox mAP.
#
# The levels, as the reference pairs them: by index. The teacher's FPN starts at P2 (stride 4),
# the student's at P3 (stride 8), so the student's P3-P6 are compared with the teacher's P2-P5,
# the student's maps resized (bilinear) to the teacher's size (MMRazor's PKDLoss with its
# default resize_stu=True). Without teacher_levels mmkd refuses that mismatch and names the
# pairing by stride, teacher_levels=[1, 2, 3, 4]: the config to try for levels of the same
# strides, not the paper's.
_base_ = ['../_base_/distill_retinanet-r50_mask-rcnn-swin-s_2x_coco.py']

model = dict(
    kd_terms=dict(
        pkd=dict(loss=dict(type='mmkd.PKDLoss', loss_weight=6.0),
                 inputs=['s_neck', 't_neck'], levels=[0, 1, 2, 3],
                 teacher_levels=[0, 1, 2, 3])))
