import pytest
import torch

from mmkd.models.losses import DecoupledFeatureLoss
from mmkd.registry import MODELS

# N=1, C=2, H=1, W=2; the teacher is [1, 3] on both channels. Input 2 x 4: stride 2, the box
# [0, 0, 2, 2] covers cell (0, 0) only.
T_FEAT = torch.tensor([[1.0, 3.0], [1.0, 3.0]]).view(1, 2, 1, 2)
BOX = [torch.tensor([[0.0, 0.0, 2.0, 2.0]])]


def test_by_hand():
    """Student 0: squared error summed over channels is 2 on the fg cell, 18 on the bg cell;
    N_fg = N_bg = 1: 3 * 2 / 2 + 12 * 18 / 2 = 111."""
    s = torch.zeros(1, 2, 1, 2)
    assert DecoupledFeatureLoss()(s, T_FEAT, BOX, (2, 4)).item() == pytest.approx(111.0)
    half = MODELS.build(dict(type='mmkd.DecoupledFeatureLoss', fg_weight=1.0, bg_weight=0.0,
                             loss_weight=0.5))
    assert half(s, T_FEAT, BOX, (2, 4)).item() == pytest.approx(0.5)


def test_counts_are_over_the_batch_and_empty_images_are_background():
    """A second image without boxes, teacher all ones: its 2 cells (2 each) join the background,
    N_bg = 3: 3 * 2 / 2 + 12 * (18 + 2 + 2) / 6 = 47. A batch without any box: background
    only."""
    t = torch.cat([T_FEAT, torch.ones(1, 2, 1, 2)])
    s = torch.zeros_like(t)
    loss = DecoupledFeatureLoss()
    assert loss(s, t, BOX + [torch.zeros(0, 4)], (2, 4)).item() == pytest.approx(47.0)
    empty = [torch.zeros(0, 4), torch.zeros(0, 4)]
    assert loss(s, t, empty, (2, 4)).item() == pytest.approx(12 * 24 / 8)


def test_zero_when_equal_and_gradient_to_student_only():
    t = torch.randn(2, 4, 5, 5, requires_grad=True)
    boxes = [torch.tensor([[0.0, 0.0, 20.0, 12.0]]), torch.zeros(0, 4)]
    loss = DecoupledFeatureLoss()
    assert loss(t.detach().clone(), t, boxes, (40, 40)).item() == 0.0
    s = torch.randn(2, 4, 5, 5, requires_grad=True)
    loss(s, t, boxes, (40, 40)).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match='DecoupledFeatureLoss'):
        DecoupledFeatureLoss()(torch.zeros(1, 3, 2, 2), torch.zeros(1, 4, 2, 2), BOX, (4, 4))
