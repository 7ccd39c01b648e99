# The COCO pair Mask R-CNN Swin-S (mmdet's 3x ms-crop model) -> RetinaNet R50 on the 2x schedule:
# a teacher of another architecture and of two stages for a one-stage student (PKD). Its FPN
# starts at P2 (stride 4), the student's at P3: a feature term pairs levels with
# teacher_levels (docs/design.md, "A KD term").
# Method configs add their kd_terms. The teacher's weights: mmdet's model zoo checkpoint
# mask_rcnn_swin-s-p4-w7_fpn_fp16_ms-crop-3x_coco, downloaded to checkpoints/ (or set
# model.teacher.checkpoint).
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::swin/mask-rcnn_swin-s-p4-w7_fpn_amp-ms-crop-3x_coco.py',
        checkpoint='checkpoints/mask_rcnn_swin-s-p4-w7_fpn_fp16_ms-crop-3x_coco_'
                   '20210903_104808-b92c91f1.pth'),
    kd_terms=dict())

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
