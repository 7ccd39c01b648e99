# The COCO pair FCOS R101 (caffe, GN head) multi-scale 2x -> FCOS R50 (caffe, GN head) on the
# multi-scale 2x schedule (CrossKD). Method configs add their kd_terms. The teacher's weights:
# mmdet's model zoo checkpoint, downloaded to checkpoints/ (or set model.teacher.checkpoint).
_base_ = ['mmdet::fcos/fcos_r50-caffe_fpn_gn-head_ms-640-800-2x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::fcos/fcos_r101-caffe_fpn_gn-head_ms-640-800-2x_coco.py',
        checkpoint='checkpoints/fcos_r101_caffe_fpn_gn-head_mstrain_640-800_2x_coco-'
                   '511424d6.pth'),
    kd_terms=dict())

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
