import math

import pytest
import torch

from mmkd.models.losses import AttentionTransferLoss, attention_transfer, spatial_attention
from mmkd.registry import MODELS


def test_value_by_hand():
    """Student: 1 channel [[2, 0]] -> Q = [4, 0] -> [1, 0]. Teacher: 2 channels [[1, -1]] and
    [[0, 0]] -> Q = [1, 1] -> [1/sqrt2, 1/sqrt2]. Distance sqrt((1 - 1/sqrt2)^2 + 1/2) =
    sqrt(2 - sqrt2) = 0.76537; weight 2 -> 1.53073."""
    s = torch.tensor([[[[2.0, 0.0]]]])  # (1, 1, 1, 2)
    t = torch.tensor([[[[1.0, -1.0]], [[0.0, 0.0]]]])  # (1, 2, 1, 2)
    assert attention_transfer(s, t).item() == pytest.approx(math.sqrt(2 - math.sqrt(2)))
    loss = MODELS.build(dict(type='mmkd.AttentionTransferLoss', loss_weight=2.0))
    assert loss(s, t).item() == pytest.approx(2 * math.sqrt(2 - math.sqrt(2)), rel=1e-6)


def test_p_and_batch_mean():
    """p = 1: student Q = [1, 3] -> [1, 3]/sqrt10; teacher equal up to scale -> 0. A second
    sample with distance sqrt(2) (orthogonal maps) -> mean sqrt(2)/2."""
    s = torch.tensor([[[[1.0, -3.0]]], [[[1.0, 0.0]]]])  # (2, 1, 1, 2)
    t = torch.tensor([[[[2.0, 6.0]]], [[[0.0, 5.0]]]])
    assert attention_transfer(s, t, p=1.0).tolist() == pytest.approx([0.0, math.sqrt(2)])
    assert AttentionTransferLoss(p=1.0)(s, t).item() == pytest.approx(math.sqrt(2) / 2)


def test_zero_when_equal_and_channels_free():
    t = torch.randn(2, 8, 6, 6)
    s = torch.cat([t, t], 1).requires_grad_(True)  # 16 channels: Q doubles, same direction
    assert AttentionTransferLoss()(s, t).item() == pytest.approx(0.0, abs=1e-6)


def test_resolution_resized_to_teacher():
    """A student map at half resolution is upsampled to the teacher's before comparing: a
    constant map equals a constant map."""
    s = torch.ones(1, 4, 3, 3, requires_grad=True)
    t = torch.ones(1, 16, 6, 6)
    assert spatial_attention(s, size=(6, 6)).shape == (1, 36)
    assert AttentionTransferLoss()(s, t).item() == pytest.approx(0.0, abs=1e-6)


def test_gradient_to_student_only_and_gradcheck():
    t = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    s = torch.randn(2, 5, 4, 4, dtype=torch.float64, requires_grad=True)
    AttentionTransferLoss()(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    assert torch.autograd.gradcheck(lambda x: attention_transfer(x, t.detach()).sum(),
                                    (s.detach().clone().requires_grad_(True),))


def test_errors():
    with pytest.raises(ValueError, match='p=0'):
        AttentionTransferLoss(p=0)
    with pytest.raises(ValueError, match=r'\(2, 4\).*\(2, 4, 3, 3\)'):
        AttentionTransferLoss()(torch.zeros(2, 4), torch.zeros(2, 4, 3, 3))
