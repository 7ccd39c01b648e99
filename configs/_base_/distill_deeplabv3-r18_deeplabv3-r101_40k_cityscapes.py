# The Cityscapes setting of CIRKD's codebase (CIRKD, Af-DCD): DeepLabV3 R101-d8 teacher ->
# DeepLabV3 R18-d8 student (ImageNet-initialised), 512 x 1024 crops, 40k iterations of 16 images
# (8 GPUs x 2), SGD lr 0.02, momentum 0.9, weight decay 1e-4, poly 0.9 (train_cirkd.py's
# defaults). The models are mmseg's; CIRKD's own teacher (78.07 mIoU) is not mmseg's, so the
# teacher is mmseg's 40k R101 (77.12). Method configs add their kd_terms.
# Teacher weights: download mmseg's
#   deeplabv3_r101-d8_512x1024_40k_cityscapes_20200605_012241-7fd3f799.pth into checkpoints/
# (or set model.teacher.checkpoint).
_base_ = ['mmseg::deeplabv3/deeplabv3_r18-d8_4xb2-80k_cityscapes-512x1024.py']

model = dict(
    _delete_=True,
    type='mmkd.SegmentationDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmseg::deeplabv3/deeplabv3_r101-d8_4xb2-40k_cityscapes-512x1024.py',
        checkpoint='checkpoints/deeplabv3_r101-d8_512x1024_40k_cityscapes_20200605_012241-'
                   '7fd3f799.pth'),
    kd_terms=dict())

train_dataloader = dict(batch_size=2)
optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4))
param_scheduler = [dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=40000,
                        by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=40000, val_interval=4000)
auto_scale_lr = dict(enable=False, base_batch_size=16)

# What runs, whichever tool starts this config (ours, mmseg's tools/train.py, mim): checkpoints
# for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook', by_epoch=False,
                                     interval=4000))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
