# Schedule and runtime of the demo models: SGD, linear warm-up, step decay, CPU friendly logging.
_base_ = ['mmdet::_base_/default_runtime.py']

max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True,
         milestones=[int(max_epochs * 0.75)], gamma=0.1),
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=35, norm_type=2))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='mmkd.SafeCheckpointHook', interval=max_epochs, max_keep_ckpts=1))
log_processor = dict(by_epoch=True, window_size=10)
randomness = dict(seed=0)
# Scalars and pictures (mmkd.KDVisualizationHook) go to vis_data/ as files and as a TensorBoard
# event file: `tensorboard --logdir work_dirs` (pip install "mmkd[tensorboard]"; without it the
# TensorBoard backend warns and writes nothing).
visualizer = dict(vis_backends=[dict(type='LocalVisBackend'),
                                dict(type='mmkd.OptionalTensorboardVisBackend')])
# What runs, whichever tool starts a config built on this one (ours, mmdet's / mmseg's
# tools/train.py, mim): mmkd's checkpoint hook (exact resumes; above) and its DDP step
# (docs/distributed.md).
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
