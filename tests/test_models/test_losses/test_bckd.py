"""BCKD's localization term: hand-derived values, zero where the student equals the teacher,
gradients to the student's boxes only, and on a GFL distiller the student's boxes of every prior
and the term's value at the priors of an image with no GT box."""
import math

import pytest
import torch

from mmkd.models.losses import BCKDLocalizationLoss, iou_kd, score_gap_weights
from mmkd.registry import MODELS
from tests.helpers import RowsProbe, gfl_model, one_box_batch, rows_distiller

L3 = math.log(3.0)


def two_priors():
    """Prior 0: s [0, 0, 2, 2] against t [1, 0, 3, 2]: overlap 2, union 6, enclosure 6, so IoU
    = GIoU = 1/3. Prior 1: s [0, 0, 1, 1] against t [2, 2, 3, 3]: no overlap, union 2,
    enclosure 9, GIoU = -7/9. Scores: prior 0 s (0.5, 0.5) t (0.75, 0.5), largest gap 0.25;
    prior 1 s (0.75, 0.25) t (0.5, 0.75), largest gap 0.5."""
    s_boxes = torch.tensor([[0., 0., 2., 2.], [0., 0., 1., 1.]])
    t_boxes = torch.tensor([[1., 0., 3., 2.], [2., 2., 3., 3.]])
    s_logits = torch.tensor([[0., 0.], [L3, -L3]])
    t_logits = torch.tensor([[L3, 0.], [0., L3]])
    return s_boxes, t_boxes, s_logits, t_logits


def test_value_by_hand():
    s_boxes, t_boxes, s_logits, t_logits = two_priors()
    assert iou_kd(s_boxes, t_boxes).tolist() == pytest.approx([2 / 3, 16 / 9], rel=1e-5)
    assert iou_kd(s_boxes, t_boxes, 'iou').tolist() == pytest.approx([2 / 3, 1.0], rel=1e-5)
    assert score_gap_weights(s_logits, t_logits).tolist() == pytest.approx([0.25, 0.5])
    # 4 / 2 * (0.25 * 2/3 + 0.5 * 16/9) = 19/9; with IoU: 2 * (1/6 + 1/2) = 4/3
    loss = BCKDLocalizationLoss()(s_boxes, t_boxes, s_logits, t_logits, avg_factor=2.0)
    assert loss.item() == pytest.approx(19 / 9, rel=1e-5)
    iou = BCKDLocalizationLoss(mode='iou')(s_boxes, t_boxes, s_logits, t_logits, avg_factor=2.0)
    assert iou.item() == pytest.approx(4 / 3, rel=1e-5)
    # label weights 0 drop a prior: 4 / 2 * 0.25 * 2/3 = 1/3
    weighted = BCKDLocalizationLoss()(s_boxes, t_boxes, s_logits, t_logits,
                                      torch.tensor([1., 0.]), avg_factor=2.0)
    assert weighted.item() == pytest.approx(1 / 3, rel=1e-5)


def test_zero_where_the_student_equals_the_teacher():
    s_boxes, t_boxes, s_logits, t_logits = two_priors()
    loss = BCKDLocalizationLoss()
    assert loss(t_boxes.clone(), t_boxes, s_logits, t_logits).item() == pytest.approx(0, abs=1e-6)
    # equal scores: no weight, whatever the boxes
    assert loss(s_boxes, t_boxes, t_logits.clone(), t_logits).item() == 0.0
    assert loss(s_boxes, t_boxes, s_logits, t_logits).item() > 0


def test_gradient_reaches_the_students_boxes_only():
    """d/dx2 of 1 - IoU for s [0, 0, x2, 2] against t [1, 0, 3, 2] at x2 = 2 (overlap 2(x2 - 1),
    union 2 x2 + 4 - 2(x2 - 1) = 6): -(2 * 6 - 2 * 0) / 36 = -1/3; times 4 * 0.25 / 1."""
    s_boxes, t_boxes, s_logits, t_logits = (x[:1].clone().requires_grad_() for x in two_priors())
    BCKDLocalizationLoss(mode='iou')(s_boxes, t_boxes, s_logits, t_logits,
                                     avg_factor=1.0).backward()
    assert s_boxes.grad[0, 2].item() == pytest.approx(4 * 0.25 * -1 / 3, rel=1e-5)
    assert s_logits.grad is None and t_boxes.grad is None and t_logits.grad is None


def test_built_from_a_config_and_clear_errors():
    loss = MODELS.build(dict(type='mmkd.BCKDLocalizationLoss', mode='iou', loss_weight=2.0))
    assert (loss.mode, loss.loss_weight) == ('iou', 2.0)
    assert BCKDLocalizationLoss().loss_weight == 4.0
    with pytest.raises(ValueError, match="mode='diou'"):
        BCKDLocalizationLoss(mode='diou')
    with pytest.raises(ValueError, match=r'\(2, 4\).*\(3, 4\)'):
        BCKDLocalizationLoss()(torch.zeros(2, 4), torch.zeros(3, 4), torch.zeros(2, 1),
                               torch.zeros(2, 1))
    with pytest.raises(ValueError, match='of the same M'):
        BCKDLocalizationLoss()(torch.zeros(2, 4), torch.zeros(2, 4), torch.zeros(3, 1),
                               torch.zeros(3, 1))


def test_empty_rows_give_a_zero_that_back_propagates():
    s = torch.zeros(0, 4, requires_grad=True)
    loss = BCKDLocalizationLoss()(s, torch.zeros(0, 4), torch.zeros(0, 3), torch.zeros(0, 3))
    loss.backward()
    assert loss.item() == 0.0 and s.grad.shape == (0, 4)


BCKD_INPUTS = ['s_boxes', 't_boxes', 's_cls_rows', 't_cls_rows', 'cls_row_weights',
               'cls_avg_factor']


def test_students_boxes_of_every_prior_on_gfl(tmp_path):
    """Zero box logits spread each edge evenly over the 17 bins: the integral is 8 strides
    from the anchor centre on every side, so the boxes of level 0 (stride 8, 8 x 8 anchors on a
    64 px image, centres at 0, 8, ... 56: mmdet's centre offset 0) are centre -+ 64."""
    model = rows_distiller(tmp_path, gfl_model(), inputs=BCKD_INPUTS)
    head = model.student.bbox_head
    torch.nn.init.zeros_(head.gfl_reg.weight)
    torch.nn.init.zeros_(head.gfl_reg.bias)
    model.train()
    model.loss(*one_box_batch())
    s_boxes = RowsProbe.seen[0][0]
    M = sum(s * s for s in (8, 4, 2, 1, 1))  # every location of the five levels, one anchor
    assert s_boxes.shape == (2 * M, 4)
    centres = torch.arange(8.) * 8  # mmdet anchors: centre offset 0
    cx, cy = centres.repeat(8), centres.repeat_interleave(8)
    level0 = torch.stack([cx - 64, cy - 64, cx + 64, cy + 64], 1)
    assert torch.allclose(s_boxes[:64], level0)
    assert torch.allclose(s_boxes[M:M + 64], level0)  # the second image's level 0


def test_bckd_term_on_a_gfl_distiller_with_an_image_without_boxes(tmp_path):
    """The localization term on a GFL pair, one image of the batch without a GT box: the term
    equals the loss computed by hand on the rows the distiller gives (every prior of both
    images), whose divisor is the head's own, at least 1 per image: the positives of the image
    with a box plus 1. Gradients reach the student only."""
    model = rows_distiller(tmp_path, gfl_model(), inputs=BCKD_INPUTS + ['num_pos'])
    model.train()
    inputs, samples = one_box_batch()
    samples[1].gt_instances = samples[1].gt_instances[:0]
    model.loss(inputs, samples)
    rows = RowsProbe.seen[0]
    M = 2 * sum(s * s for s in (8, 4, 2, 1, 1))
    assert rows[0].shape == rows[1].shape == (M, 4) and rows[2].shape == (M, 10)
    assert rows[5] == rows[6] + 1  # cls_avg_factor: the positives, and 1 for the empty image
    expected = BCKDLocalizationLoss()(*rows[:6])
    model.kd_terms['probe'].loss = BCKDLocalizationLoss()
    model.kd_terms['probe'].inputs = list(BCKD_INPUTS)
    value = model.loss(inputs, samples)['loss_kd_probe']
    assert value.item() == pytest.approx(expected.item(), rel=1e-5) and value.item() > 0
    value.backward()
    assert model.student.bbox_head.gfl_reg.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
