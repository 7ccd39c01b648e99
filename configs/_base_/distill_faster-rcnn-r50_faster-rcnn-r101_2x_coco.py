# The COCO pair Faster R-CNN R101 2x -> Faster R-CNN R50 on the 2x schedule (FGD, PKD; MGD's
# Cascade Mask R-CNN teacher replaces it).
# Method configs add their kd_terms (and inherit, optim_wrapper ...). The teacher's weights:
# mmdet's model zoo checkpoint, downloaded to checkpoints/ (or set model.teacher.checkpoint).
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_2x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::faster_rcnn/faster-rcnn_r101_fpn_2x_coco.py',
        checkpoint='checkpoints/faster_rcnn_r101_fpn_2x_coco_bbox_mAP-0.398_'
                   '20200504_210455-1d2dac9c.pth'),
    kd_terms=dict())

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
