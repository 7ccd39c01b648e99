# The Cityscapes distillation pair of SKD and CWD: PSPNet R101-d8 teacher (mmseg's model zoo,
# 78.34 mIoU at 512x1024 40k) and PSPNet R18-d8 student (ImageNet-initialised), with mmseg's
# Cityscapes data and 4 x 2 images per iteration. Method configs add their kd_terms and schedule.
# Teacher weights: download mmseg's
#   pspnet_r101-d8_512x1024_40k_cityscapes_20200604_232751-467e7cf4.pth
# into checkpoints/ (or set model.teacher.checkpoint).
_base_ = ['mmseg::pspnet/pspnet_r18-d8_4xb2-80k_cityscapes-512x1024.py']

model = dict(
    _delete_=True,
    type='mmkd.SegmentationDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmseg::pspnet/pspnet_r101-d8_4xb2-40k_cityscapes-512x1024.py',
        checkpoint='checkpoints/pspnet_r101-d8_512x1024_40k_cityscapes_20200604_232751-'
                   '467e7cf4.pth'),
    kd_terms=dict())

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
