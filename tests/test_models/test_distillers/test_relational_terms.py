"""Attention transfer and relational terms in the distillers: per-instance features pooled at the
GT boxes / GT regions are the same instances on both sides, the terms equal the losses called by
hand on them, and only the student gets a gradient."""
import pytest
import torch
from mmcv.ops import roi_align

from mmkd.models.losses import AttentionTransferLoss, RelationalKDLoss, SimilarityPreservingLoss
from mmkd.registry import MODELS
from mmkd.structures import region_features
from tests.helpers import batch, distill_model_cfg, seg_batch
from tests.helpers import seg_model_cfg as model_cfg


def test_region_features_by_hand():
    """A 1 x 4 x 4 map 0..15 and labels: class 0 top-left 2x2 (0, 1, 4, 5 -> 2.5), class 1
    top-right (2, 3, 6, 7 -> 4.5), class 2 bottom-left (8, 9, 12, 13 -> 10.5), bottom-right
    ignored. At 2 x 2 each class is one cell: 0, 1, 2 themselves; class 1 absent in image 2."""
    f = torch.arange(16.0).view(1, 1, 4, 4)
    gt = torch.tensor([[[0, 0, 1, 1], [0, 0, 1, 1], [2, 2, 255, 255], [2, 2, 255, 255]],
                       [[0] * 4] * 2 + [[2] * 4] * 2])
    f2 = torch.cat([f, f + 100])
    assert region_features(f2, gt, 3).flatten().tolist() == pytest.approx(
        [2.5, 4.5, 10.5, 100 + 3.5, 100 + 11.5])
    small = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    assert region_features(small, gt[:1], 3).flatten().tolist() == [0.0, 1.0, 2.0]


def test_detection_box_feats_are_roi_align_at_the_gt(teacher_ckpt):
    cfg = distill_model_cfg(teacher_ckpt, box_feat_size=2)
    cfg.kd_terms = dict(
        rkd=dict(loss=dict(type='mmkd.RelationalKDLoss'), inputs=['s_box_feats', 't_box_feats'],
                 levels=[0, 1]),
        sp=dict(loss=dict(type='mmkd.SimilarityPreservingLoss'),
                inputs=['s_box_feats', 't_box_feats'], levels=[1]),
        at=dict(loss=dict(type='mmkd.AttentionTransferLoss'), inputs=['s_neck', 't_neck'],
                levels=[0, 1]))
    model = MODELS.build(cfg)
    assert not any(t.adapters for t in model.kd_terms.values())  # no channel adapter needed
    model.train()
    inputs, samples = batch(n=2, boxes_per_image=2)
    losses = model.loss(inputs, samples)
    with torch.no_grad():  # train mode: BatchNorm on the batch, as in loss()
        s_neck, t_neck = model.student.extract_feat(inputs), model.teacher.extract_feat(inputs)
    boxes = torch.cat([torch.cat([torch.full((2, 1), float(i)), s.gt_instances.bboxes], 1)
                       for i, s in enumerate(samples)])  # (4, 5)

    def pooled(f):  # level stride 8 or 16 on the 64 x 64 input; mmcv reads f as contiguous
        return roi_align(f.contiguous(), boxes, (2, 2), f.shape[-1] / 64, 0, 'avg', True)
    rkd = sum(RelationalKDLoss()(pooled(s_neck[lv]), pooled(t_neck[lv])) for lv in (0, 1))
    sp = SimilarityPreservingLoss()(pooled(s_neck[1]), pooled(t_neck[1]))
    at = sum(AttentionTransferLoss()(s_neck[lv], t_neck[lv]) for lv in (0, 1))
    assert losses['loss_kd_rkd'].item() == pytest.approx(rkd.item(), rel=1e-4)
    assert losses['loss_kd_sp'].item() == pytest.approx(sp.item(), rel=1e-4)
    assert losses['loss_kd_at'].item() == pytest.approx(at.item(), rel=1e-4)
    sum(losses[f'loss_kd_{k}'] for k in ('rkd', 'sp', 'at')).backward()
    assert model.student.backbone.conv1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())


def test_detection_batch_without_boxes(teacher_ckpt):
    cfg = distill_model_cfg(teacher_ckpt)
    cfg.kd_terms = dict(rkd=dict(loss=dict(type='mmkd.RelationalKDLoss'),
                                 inputs=['s_box_feats', 't_box_feats']))
    model = MODELS.build(cfg)
    model.train()
    losses = model.loss(*batch(n=2, boxes_per_image=0))
    assert losses['loss_kd_rkd'].item() == 0.0
    losses['loss_kd_rkd'].backward()


def test_segmentation_region_feats(seg_teacher_ckpt):
    """Two images, each with class 0 and class 1 + i: four regions per side."""
    model = MODELS.build(model_cfg(seg_teacher_ckpt, discriminator=None, kd_terms=dict(
        rkd=dict(loss=dict(type='mmkd.RelationalKDLoss'),
                 inputs=['s_region_feats', 't_region_feats']),
        sp=dict(loss=dict(type='mmkd.SimilarityPreservingLoss'),
                inputs=['s_region_feats', 't_region_feats']))))
    model.train()
    data = seg_batch(model)
    seen = {}
    model.kd_terms['rkd'].loss.register_forward_hook(lambda m, args, out: seen.update(rkd=args))
    losses = model.loss(data['inputs'], data['data_samples'])
    s_rows, t_rows = seen['rkd']
    assert s_rows.shape == (4, model.student.decode_head.channels)
    assert t_rows.shape == (4, model.teacher.decode_head.channels)
    assert s_rows.shape[1] != t_rows.shape[1]
    assert not t_rows.requires_grad and s_rows.requires_grad
    (losses['loss_kd_rkd'] + losses['loss_kd_sp']).backward()
    assert all(p.grad is None for p in model.teacher.parameters())
    assert model.student.decode_head.bottleneck.conv.weight.grad.abs().sum() > 0
