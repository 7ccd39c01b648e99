# The offline demo dataset (tools/dataset/make_demo_data.py) as semantic segmentation, in the
# Cityscapes folder layout: 160 x 160 images, 11 classes (background and the digits 0-9), 255 on
# the digits' soft edges (ignored). Build it with `python tools/dataset/make_demo_data.py`.
dataset_type = 'BaseSegDataset'
data_root = 'data/mmkd_demo/'
metainfo = dict(
    classes=('background', *(str(d) for d in range(10))),
    palette=[[0, 0, 0], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
             [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60],
             [250, 190, 212]])
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', reduce_zero_label=False),
    dict(type='PackSegInputs'),
]
_split = dict(type=dataset_type, data_root=data_root, metainfo=metainfo,
              img_suffix='_leftImg8bit.png', seg_map_suffix='_gtFine_labelTrainIds.png',
              reduce_zero_label=False, backend_args=backend_args)
train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(**_split, data_prefix=dict(img_path='leftImg8bit/train',
                                            seg_map_path='gtFine/train'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(**_split, data_prefix=dict(img_path='leftImg8bit/val',
                                            seg_map_path='gtFine/val'),
                 test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator
