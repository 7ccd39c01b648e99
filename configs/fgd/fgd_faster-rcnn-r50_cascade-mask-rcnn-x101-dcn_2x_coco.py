# FGD with the teacher of the reference README's Faster R-CNN row (38.4 -> 42.0 bbox mAP): Cascade
# Mask R-CNN ResNeXt-101 32x4d with DCN in c3-c5, 1x (mmdet's model zoo, 47.3 box AP), Faster
# R-CNN R50 student, 2x, P2-P5, the two-stage weights. The reference config of this pair does not
# inherit (the two models' heads differ), so model.inherit is empty here.
# The teacher's weights: mmdet's model zoo checkpoint of
#   cascade_mask_rcnn_x101_32x4d_fpn_dconv_c3-c5_1x_coco-e75f90c8.pth.
_base_ = ['./fgd_faster-rcnn-r50_faster-rcnn-r101_2x_coco.py']

model = dict(
    teacher=dict(
        config='mmdet::dcn/cascade-mask-rcnn_x101-32x4d-dconv-c3-c5_fpn_1x_coco.py',
        checkpoint='checkpoints/cascade_mask_rcnn_x101_32x4d_fpn_dconv_c3-c5_1x_coco-e75f90c8.pth'),
    inherit=[])
