"""Builders the tests share: configs, batches and small models. Test modules import these from
here, not from each other."""
import copy
import os.path as osp

import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

from mmkd.models.distillers.build import build_model, load_config
from mmkd.registry import MODELS
from tools.demo import CONFIGS

# The 12-epoch demo pair the method configs build on is the one the tests run (the demo's own
# pair, tools.demo.TEACHER / STUDENT / DISTILL, inherits it and only changes the schedule and
# the student's split).
TEACHER_CFG = osp.join(CONFIGS, 'retinanet_r18_fpn_12e_mmkd-demo.py')
STUDENT_CFG = osp.join(CONFIGS, 'retinanet_r18-narrow_fpn_12e_mmkd-demo.py')
DISTILL_CFG = osp.join(CONFIGS, 'hint-poskd_retinanet-r18-narrow_retinanet-r18_12e_mmkd-demo.py')

_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SEG_TEACHER_CFG = osp.join(_ROOT, 'configs/demo/pspnet_r18-w32-d8_1.5k_mmkd-demo.py')
SKD_CFG = osp.join(_ROOT, 'configs/skd/skd_pspnet-r18-w16_pspnet-r18-w32_0.8k_mmkd-demo.py')

#: the label of ignored pixels in :func:`seg_batch`
IGNORE = 255
FASTER_RCNN = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'


# ------------------------------------------------------------------------------ detection
def distill_model_cfg(teacher_ckpt, **overrides):
    """The demo distill config plus a logit KD term on the dense head's classification."""
    cfg = Config.fromfile(DISTILL_CFG).model
    cfg.teacher.checkpoint = teacher_ckpt
    cfg.kd_terms.hint.loss.loss_weight = 1.0
    cfg.kd_terms.cls = dict(
        loss=dict(type='mmkd.LogitKDLoss', temperature=2.0, num_anchors=9),
        inputs=['s_cls_scores', 't_cls_scores'])
    cfg.update(overrides)
    return cfg


def batch(n=2, size=64, boxes_per_image=2):
    torch.manual_seed(1)
    inputs = torch.randn(n, 3, size, size)
    samples = []
    for i in range(n):
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                             pad_shape=(size, size),
                                             batch_input_shape=(size, size),
                                             scale_factor=(1.0, 1.0)))
        gt = InstanceData()
        gt.bboxes = torch.tensor([[4.0, 4.0, 30.0, 30.0], [20.0, 10.0, 60.0, 50.0]])[
            :boxes_per_image]
        gt.labels = torch.tensor([1, 7])[:boxes_per_image]
        sample.gt_instances = gt
        samples.append(sample)
    return inputs, samples


def small_faster_rcnn():
    """mmdet's Faster R-CNN config with a ResNet-18, no pretrained weights, 10 classes."""
    model = load_config(FASTER_RCNN).model
    model.backbone.update(depth=18, init_cfg=None)
    model.neck.in_channels = [64, 128, 256, 512]
    model.roi_head.bbox_head.num_classes = 10
    return model


def tiny_faster_rcnn():
    """:func:`small_faster_rcnn` with 64-channel FPN, RPN and RoI features and a 256-wide box
    head: fast enough for a few training iterations in the tests."""
    model = small_faster_rcnn()
    model.neck.out_channels = 64
    model.rpn_head.update(in_channels=64, feat_channels=64)
    model.roi_head.bbox_roi_extractor.out_channels = 64
    model.roi_head.bbox_head.update(in_channels=64, fc_out_channels=256)
    return model


RCNN_TERMS = dict(
    rpn_bound=dict(loss=dict(type='mmkd.TeacherBoundedRegressionLoss'),
                   inputs=['s_pos_reg', 't_pos_reg', 'pos_reg_targets', 'pos_reg_weights',
                           'num_pos']),
    rpn_soft=dict(loss=dict(type='mmkd.WeightedSoftLabelKDLoss', use_sigmoid=True),
                  inputs=['s_cls_rows', 't_cls_rows', 'cls_row_weights', 'cls_avg_factor']),
    rcnn_bound=dict(loss=dict(type='mmkd.TeacherBoundedRegressionLoss'),
                    inputs=['s_rcnn_pos_reg', 't_rcnn_pos_reg', 'rcnn_pos_reg_targets',
                            'rcnn_pos_reg_weights', 'rcnn_num_rois']),
    rcnn_soft=dict(loss=dict(type='mmkd.WeightedSoftLabelKDLoss'),
                   inputs=['s_rcnn_cls', 't_rcnn_cls', 'rcnn_label_weights', 'rcnn_num_rois']),
    hint=dict(loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=0.5),
              inputs=['s_neck', 't_neck']))

# ------------------------------------------------------------------ head-level rows
#: the regression rows of the positives
ROWS = ['s_pos_reg', 't_pos_reg', 'pos_reg_targets', 'pos_reg_weights', 'num_pos']


class RowsProbe(torch.nn.Module):
    """Keeps what it is given (the rows under test) and returns 0."""

    seen = []

    def forward(self, *args):
        RowsProbe.seen.append(args)
        return args[0].new_zeros(())


MODELS.register_module('RowsProbe', module=RowsProbe, force=True)


def student_model(**head):
    model = Config.fromfile(STUDENT_CFG).model
    model.bbox_head.update(head)
    return model


def fcos_model():
    model = student_model()
    model.bbox_head = dict(type='FCOSHead', num_classes=10, in_channels=32, feat_channels=32,
                           stacked_convs=1, strides=[8, 16, 32, 64, 128], norm_on_bbox=True)
    model.train_cfg = None
    return model


def atss_model():
    """The demo student with mmdet's ATSS head (one anchor per location, deltas, a centerness
    branch on the box tower, two convs per tower)."""
    model = student_model()
    model.bbox_head = dict(
        type='ATSSHead', num_classes=10, in_channels=32, feat_channels=32, stacked_convs=2,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                              scales_per_octave=1, strides=[8, 16, 32, 64, 128]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0],
                        target_stds=[0.1, 0.1, 0.2, 0.2]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25,
                      loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0))
    model.train_cfg = dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1,
                           pos_weight=-1, debug=False)
    return model


def gfl_model(reg_max=16):
    model = student_model()
    model.bbox_head = dict(
        type='GFLHead', num_classes=10, in_channels=32, feat_channels=32, stacked_convs=1,
        reg_max=reg_max,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                              scales_per_octave=1, strides=[8, 16, 32, 64, 128]),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0))
    model.train_cfg = dict(assigner=dict(type='ATSSAssigner', topk=9), allowed_border=-1,
                           pos_weight=-1, debug=False)
    return model


def rows_distiller(tmp_path, student, teacher=None, inputs=ROWS, seed=0, **options):
    """A distiller whose teacher is ``teacher`` (the student's config by default) with random
    weights saved to a checkpoint, in the default layout, so that a teacher equal to the student
    gives the student's rows to the bit (the channels-last layout is tested in
    test_teacher_layout.py); one term, :class:`RowsProbe`, reads ``inputs``; ``options`` go to
    the distiller."""
    teacher = copy.deepcopy(teacher or student)
    torch.manual_seed(seed)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(build_model(teacher, 'mmdet').state_dict(), ckpt)
    RowsProbe.seen = []
    return MODELS.build(dict(type='mmkd.DetectionDistiller', student=student,
                             teacher=dict(config=teacher, checkpoint=ckpt,
                                          channels_last=False),
                             kd_terms=dict(probe=dict(loss=dict(type='RowsProbe'),
                                                      inputs=list(inputs))),
                             **options))


def one_box_batch():
    """Two 64 x 64 images with the box [8, 8, 40, 40] each."""
    inputs, samples = batch(boxes_per_image=1)
    for s in samples:
        s.gt_instances.bboxes = torch.tensor([[8.0, 8.0, 40.0, 40.0]])
    return inputs, samples


# --------------------------------------------------------------------------- segmentation
def seg_model_cfg(seg_teacher_ckpt, **overrides):
    """The demo SKD distiller's model dict with the seeded teacher and ``overrides``."""
    cfg = copy.deepcopy(Config.fromfile(SKD_CFG).model)
    cfg.teacher.checkpoint = seg_teacher_ckpt
    # the batches below have ignored pixels, on which mmseg 1.2.2's cross-entropy fails when it
    # has class weights (the demo's): plain cross-entropy here
    for head in (cfg.student.decode_head, cfg.student.auxiliary_head):
        head.loss_decode.class_weight = None
    for key, value in overrides.items():
        cfg[key] = value
    return cfg


def seg_batch(distiller, n=2, size=60, seed=0):
    """Preprocessed random images with label maps: class 1 + i in a square of image i, an ignored
    strip; the 60 x 60 input is padded to 64 x 64 (size_divisor 8) with ignored labels."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(n):
        inputs.append(torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8))
        gt = torch.zeros(1, size, size, dtype=torch.long)
        gt[:, 10:30, 10:30] = 1 + i
        gt[:, :, :4] = IGNORE
        sample = SegDataSample(gt_sem_seg=PixelData(data=gt))
        sample.set_metainfo(dict(img_shape=(size, size), ori_shape=(size, size)))
        samples.append(sample)
    return distiller.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)


# ------------------------------------------------------------------------------ structures
def grid_anchors(size, stride, sides):
    """Square anchors of the given sides centred on the cell centres of a size x size level,
    location-major like mmdet's AnchorGenerator."""
    c = (torch.arange(size, dtype=torch.float32) + 0.5) * stride
    cy, cx = torch.meshgrid(c, c, indexing='ij')
    centres = torch.stack([cx.flatten(), cy.flatten()], dim=1)  # (HW, 2)
    half = torch.tensor(sides, dtype=torch.float32) / 2  # (A,)
    boxes = torch.cat([centres[:, None] - half[None, :, None],
                       centres[:, None] + half[None, :, None]], dim=2)  # (HW, A, 4)
    return boxes.reshape(-1, 4)


# ------------------------------------------------------------------------------ runs
def data_options(data_root, epochs=1, batch_size=4):
    """--cfg-options that point a demo config at ``data_root`` and shorten its schedule."""
    root = data_root.rstrip('/') + '/'
    ann = root + 'annotations/instances_val.json'
    return {
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'val_evaluator.ann_file': ann,
        'test_evaluator.ann_file': ann,
        'train_dataloader.batch_size': batch_size,
        'train_cfg.max_epochs': epochs,
        'train_cfg.val_interval': epochs,
        'param_scheduler': [dict(type='ConstantLR', factor=1.0, by_epoch=False)],
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 1,
        'default_hooks.checkpoint.max_keep_ckpts': 5,
    }


def seg_data_options(data_root, iters=2, batch_size=2):
    """--cfg-options that point a demo segmentation config at ``data_root`` and shorten its
    schedule to ``iters`` iterations with a constant learning rate."""
    root = data_root.rstrip('/') + '/'
    return {
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'train_dataloader.batch_size': batch_size,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': iters,
        'default_hooks.checkpoint.max_keep_ckpts': 5,
    }


def write_config(path, base, overrides):
    """Writes a config file that inherits ``base`` and sets ``overrides`` ({dotted.key: value}),
    the way a user derives a config."""
    nested = {}
    for key, value in overrides.items():
        *parents, leaf = key.split('.')
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    lines = [f'_base_ = [{base!r}]']
    lines += [f'{key} = {value!r}' for key, value in nested.items()]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return str(path)


def train_with_random_teacher(config, data_root, tmp_path, scope='mmdet', iters=2):
    """The demo distill ``config`` through tools/train.py on ``data_root`` (detection: one
    epoch; segmentation, ``scope='mmseg'``: ``iters`` iterations), its teacher built from its
    own config with random weights (seed 0) and saved as the checkpoint. Returns the runner and
    the teacher (its weights as saved)."""
    from tools import train as train_tool
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    teacher = build_model(Config.fromfile(cfg.model.teacher.config).model, scope)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(teacher.state_dict(), ckpt)
    options = data_options(data_root) if scope == 'mmdet' else \
        seg_data_options(data_root, iters=iters)
    options['model.teacher.checkpoint'] = ckpt
    path = write_config(tmp_path / 'cfg.py', config, options)
    return train_tool.main([path, '--work-dir', str(tmp_path / 'work')]), teacher


def identity_conv3x3(*convs):
    """Makes each 3x3 conv (same in / out channels, padding 1) the identity: a generation block
    conv3x3 -> ReLU -> conv3x3 then computes relu(x)."""
    with torch.no_grad():
        for conv in convs:
            conv.weight.zero_()
            conv.bias.zero_()
            for c in range(conv.out_channels):
                conv.weight[c, c, 1, 1] = 1.0
