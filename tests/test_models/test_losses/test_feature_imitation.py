import pytest
import torch

from mmkd.models.losses import FeatureImitationLoss
from mmkd.registry import MODELS


def test_value_by_hand():
    """s = [1, 2, 3, 4], t = 0: sum of squares 30; mean 7.5; weight 0.5 -> 3.75."""
    s = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 2, 2)
    t = torch.zeros(1, 1, 2, 2)
    assert FeatureImitationLoss(loss_weight=0.5)(s, t).item() == pytest.approx(3.75)
    assert FeatureImitationLoss(reduction='sum')(s, t).item() == pytest.approx(30.0)


def test_zero_when_equal_gradient_to_student_only():
    t = torch.randn(2, 3, 4, 4, requires_grad=True)
    s = t.detach().clone().requires_grad_(True)
    loss = FeatureImitationLoss()
    assert loss(s, t).item() == 0.0
    loss(s * 2, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None


def test_shape_error_names_shapes_and_fix():
    loss = MODELS.build(dict(type='mmkd.FeatureImitationLoss'))
    with pytest.raises(ValueError, match=r'\(1, 8, 4, 4\).*\(1, 16, 4, 4\).*adapter'):
        loss(torch.zeros(1, 8, 4, 4), torch.zeros(1, 16, 4, 4))
