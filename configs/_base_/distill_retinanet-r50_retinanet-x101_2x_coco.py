# The COCO pair RetinaNet ResNeXt-101 (64x4d) 1x -> RetinaNet R50 on the 2x schedule (FGD, PKD,
# MGD).
# Method configs add their kd_terms (and inherit, optim_wrapper ...). The teacher's weights:
# mmdet's model zoo checkpoint, downloaded to checkpoints/ (or set model.teacher.checkpoint).
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py',
        checkpoint='checkpoints/retinanet_x101_64x4d_fpn_1x_coco_20200130-366f5af1.pth'),
    kd_terms=dict())

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
