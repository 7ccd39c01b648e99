import pytest
import torch

from mmkd.models.losses import FineGrainedImitationLoss
from tests.helpers import grid_anchors

# One level 2 x 2, stride 16, one 16 x 16 anchor per cell; teacher (C=1) [[1, 2], [3, 4]].
PRIORS = grid_anchors(2, 16, [16])
T_FEAT = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 1, 2, 2)


def test_by_hand():
    """[0,0,16,16] imitates cell (0,0): 1 / (2 * 1) = 0.5; [0,0,32,16] cells (0,0) and (0,1):
    (1 + 4) / (2 * 2) = 1.25; times loss_weight."""
    s = torch.zeros(1, 1, 2, 2)
    loss = FineGrainedImitationLoss(loss_weight=1.0)
    assert loss(s, T_FEAT, PRIORS, [torch.tensor([[0.0, 0.0, 16.0, 16.0]])]).item() == 0.5
    assert loss(s, T_FEAT, PRIORS, [torch.tensor([[0.0, 0.0, 32.0, 16.0]])]).item() == 1.25
    default = FineGrainedImitationLoss()(s, T_FEAT, PRIORS, [torch.tensor([[0.0, 0, 16, 16]])])
    assert default.item() == pytest.approx(0.005)


def test_levels_are_normalised_together():
    """Two levels given at once: level 0 (4 x 4, 8 x 8 anchors, teacher 2 everywhere) and the
    level above; a box per level's anchor: [8,8,16,16] marks level-0 cell (1,1) and
    [16,16,32,32] level-1 cell (1,1) (4^2). N_p = 2: (4 + 16) / 4 = 5."""
    priors = [grid_anchors(4, 8, [8]), PRIORS]
    t = [torch.full((1, 1, 4, 4), 2.0), T_FEAT]
    s = [torch.zeros(1, 1, 4, 4), torch.zeros(1, 1, 2, 2)]
    boxes = [torch.tensor([[8.0, 8.0, 16.0, 16.0], [16.0, 16.0, 32.0, 32.0]])]
    assert FineGrainedImitationLoss(loss_weight=1.0)(s, t, priors, boxes).item() == 5.0


def test_empty_gt_zero_when_equal_and_gradient_to_student_only():
    loss = FineGrainedImitationLoss()
    s = torch.randn(1, 1, 2, 2, requires_grad=True)
    t = T_FEAT.clone().requires_grad_(True)
    empty = loss(s, t, PRIORS, [torch.zeros(0, 4)])
    assert empty.item() == 0.0
    empty.backward()
    assert torch.isfinite(s.grad).all()
    box = [torch.tensor([[0.0, 0.0, 32.0, 16.0]])]
    assert loss(t.detach().clone(), t, PRIORS, box).item() == 0.0
    s.grad = None
    loss(s, t, PRIORS, box).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
