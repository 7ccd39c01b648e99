import math

import pytest
import torch

from mmkd.models.losses import (RelationalKDLoss, angle_potential, distance_potential,
                                relational_kd)
from mmkd.registry import MODELS


def test_distance_by_hand():
    """1-D points. Student 0, 1, 3: distances 1, 3, 2, mean 2 -> psi 0.5, 1.5, 1. Teacher 0, 2, 4:
    2, 4, 2, mean 8/3 -> 0.75, 1.5, 0.75. Huber of 0.25, 0, 0.25 = 0.03125, 0, 0.03125, mean over
    the pairs 0.0208333. Collinear, same order: every angle agrees -> angle loss 0."""
    s = torch.tensor([[0.0], [1.0], [3.0]])
    t = torch.tensor([[0.0], [2.0], [4.0]])
    assert distance_potential(s)[0].tolist() == pytest.approx([0.0, 0.5, 1.5])
    loss_d, loss_a = relational_kd(s, t)
    assert loss_d.item() == pytest.approx(0.0625 / 3)
    assert loss_a.item() == pytest.approx(0.0)


def test_angle_by_hand():
    """Student (0,0), (1,0), (0,1); teacher (0,0), (1,0), (1,1). Cosine at each vertex: student
    0, 1/sqrt2, 1/sqrt2; teacher 1/sqrt2, 0, 1/sqrt2. Differences 1/sqrt2, 1/sqrt2, 0; Huber 1/4,
    1/4, 0, each vertex twice (i, k swapped): mean over 6 triplets = 1/6.
    Distances: student 1, 1, sqrt2 at pairs 01, 02, 12; teacher 1, sqrt2, 1; both means
    mu = (2 + sqrt2)/3; differences 0, (sqrt2-1)/mu twice: Huber mean = (sqrt2-1)^2 / mu^2 / 3."""
    s = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    t = torch.tensor([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0]])
    assert angle_potential(s)[1, 0, 2].item() == pytest.approx(1 / math.sqrt(2))  # vertex 1
    loss_d, loss_a = relational_kd(s, t)
    mu = (2 + math.sqrt(2)) / 3
    assert loss_a.item() == pytest.approx(1 / 6)
    assert loss_d.item() == pytest.approx((math.sqrt(2) - 1) ** 2 / mu ** 2 / 3)
    loss = MODELS.build(dict(type='mmkd.RelationalKDLoss', loss_weight=0.5))
    assert loss(s, t).item() == pytest.approx(0.5 * (25 * loss_d.item() + 50 / 6))


def test_zero_when_equal_and_invariant_to_scale_and_width():
    """Relations only: a scaled, rotated, zero-padded copy of the teacher has the same distances
    (after normalising by the mean) and angles."""
    t = torch.randn(6, 4)
    q, _ = torch.linalg.qr(torch.randn(4, 4))
    s = torch.cat([3.0 * t @ q, torch.zeros(6, 3)], 1)  # (6, 7)
    loss_d, loss_a = relational_kd(s, t)
    assert loss_d.item() == pytest.approx(0.0, abs=1e-10)
    assert loss_a.item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_to_student_only_and_gradcheck():
    t = torch.randn(5, 2, 2, 2, dtype=torch.float64, requires_grad=True)  # flattened to (5, 8)
    s = torch.randn(5, 3, dtype=torch.float64, requires_grad=True)
    RelationalKDLoss()(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    assert torch.autograd.gradcheck(lambda x: sum(relational_kd(x, t.detach())),
                                    (s.detach().clone().requires_grad_(True),))


@pytest.mark.parametrize('rows', [0, 1, 2])
def test_few_instances_finite_and_backpropagates(rows):
    """No pair (0 or 1 rows) or no triplet (2 rows): zero for what cannot be formed, and the
    result still back-propagates (a batch with one GT box). With 2 rows the one distance,
    divided by the mean distance, is 1 on both sides: the distance loss is 0 too."""
    s = torch.randn(rows, 4, requires_grad=True)
    loss_d, loss_a = relational_kd(s, torch.randn(rows, 4))
    assert loss_a.item() == 0.0 and loss_d.item() == pytest.approx(0.0, abs=1e-7)
    RelationalKDLoss()(s, torch.randn(rows, 4)).backward()
    assert s.grad is not None and torch.isfinite(s.grad).all()


def test_rows_must_match():
    with pytest.raises(ValueError, match='3 student and 4 teacher'):
        RelationalKDLoss()(torch.zeros(3, 2), torch.zeros(4, 2))
