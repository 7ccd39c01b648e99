# Schedule and runtime of the demo segmentors: iteration based, SGD with mmseg's poly decay.
_base_ = ['mmseg::_base_/default_runtime.py']

max_iters = 1500
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4),
    clip_grad=None)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=50, end=max_iters, by_epoch=False),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='mmkd.SafeCheckpointHook', by_epoch=False, interval=max_iters, max_keep_ckpts=1))
log_processor = dict(by_epoch=False, window_size=50)
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
