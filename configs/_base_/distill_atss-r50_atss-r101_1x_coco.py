# The COCO pair ATSS R101 1x -> ATSS R50 on the 1x schedule (CrossKD).
# Method configs add their kd_terms. The teacher's weights: mmdet's model zoo checkpoint,
# downloaded to checkpoints/ (or set model.teacher.checkpoint).
_base_ = ['mmdet::atss/atss_r50_fpn_1x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::atss/atss_r101_fpn_1x_coco.py',
        checkpoint='checkpoints/atss_r101_fpn_1x_20200825-dfcadd6f.pth'),
    kd_terms=dict())

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
