# The COCO pair GFL R101 multi-scale 2x -> GFL R50 on the 1x schedule (FGD, CrossKD).
# Method configs add their kd_terms (and inherit, optim_wrapper ...). The teacher's weights:
# mmdet's model zoo checkpoint, downloaded to checkpoints/ (or set model.teacher.checkpoint).
_base_ = ['mmdet::gfl/gfl_r50_fpn_1x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py',
        checkpoint='checkpoints/gfl_r101_fpn_mstrain_2x_coco_20200629_200126-dd12f847.pth'),
    kd_terms=dict())

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
