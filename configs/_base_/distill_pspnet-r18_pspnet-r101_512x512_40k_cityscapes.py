# The 512 x 512 Cityscapes setting of SKD's and MGD's papers on the PSPNet pair of
# distill_pspnet-r18_pspnet-r101_cityscapes.py (mmseg's 40k R101 teacher, 78.34 mIoU): crops of
# 512 x 512 from images resized around 2048 x 1024 (ratio 0.5-2.0), 40k iterations, SGD lr 0.01,
# momentum 0.9, weight decay 5e-4, poly to 1e-4 (mmseg's 40k schedule), mmseg's 4 x 2 images an
# iteration unless a method config sets its own (SKD: 8 on one GPU). Method configs add their
# kd_terms.
_base_ = ['./distill_pspnet-r18_pspnet-r101_cityscapes.py']

crop_size = (512, 512)
model = dict(student=dict(data_preprocessor=dict(size=crop_size)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 1024), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
max_iters = 40000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=4000)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=4000))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    clip_grad=None)
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
                        by_epoch=False)]
