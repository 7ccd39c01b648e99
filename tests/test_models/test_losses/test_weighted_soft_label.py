import math

import pytest
import torch

from mmkd.models.losses import WeightedSoftLabelKDLoss

# Teacher logits 0: p_t = 1/2 on both classes (softmax) / 1/2 (sigmoid). Student logits make
# p_s = [1/4, 3/4] (softmax over [fg, bg]) or 3/4 (sigmoid of ln 3).
T2 = torch.zeros(1, 2)
S2 = torch.tensor([[0.0, math.log(3)]])


def test_softmax_by_hand():
    """-(1 * 1/2 ln 1/4 + 1.5 * 1/2 ln 3/4) = 0.5 ln 4 + 0.75 ln 4/3 = 0.908909; x 0.5."""
    rows = WeightedSoftLabelKDLoss(reduction='none', loss_weight=1.0).rows(S2, T2)
    assert rows.item() == pytest.approx(0.5 * math.log(4) + 0.75 * math.log(4 / 3))
    assert WeightedSoftLabelKDLoss()(S2, T2).item() == pytest.approx(0.5 * 0.908909, abs=1e-6)
    weighted = WeightedSoftLabelKDLoss(class_weights=[2.0], loss_weight=1.0)(S2, T2)
    assert weighted.item() == pytest.approx(math.log(4) + 0.75 * math.log(4 / 3))


def test_sigmoid_by_hand():
    """One class, p_t 1/2, p_s 3/4: -(1/2 ln 3/4 + 1.5 * 1/2 ln 1/4) = 1.183562."""
    loss = WeightedSoftLabelKDLoss(use_sigmoid=True, loss_weight=1.0)
    value = loss(torch.tensor([[math.log(3)]]), torch.zeros(1, 1))
    assert value.item() == pytest.approx(0.5 * math.log(4 / 3) + 0.75 * math.log(4), abs=1e-6)


def test_temperature_and_mean_over_rows():
    """T = 2 with logits doubled gives the same distributions, times T^2 = 4; rows average."""
    hot = WeightedSoftLabelKDLoss(temperature=2.0, loss_weight=1.0)
    plain = WeightedSoftLabelKDLoss(loss_weight=1.0)
    assert hot(2 * S2, T2).item() == pytest.approx(4 * plain(S2, T2).item())
    both = plain(torch.cat([S2, T2]), torch.cat([T2, T2]))
    assert both.item() == pytest.approx((plain(S2, T2).item() + plain(T2, T2).item()) / 2)
    assert plain(S2, T2, avg_factor=4.0).item() == pytest.approx(plain(S2, T2).item() / 4)


def test_gradient_only_to_the_student_and_errors():
    s = S2.clone().requires_grad_(True)
    t = T2.clone().requires_grad_(True)
    WeightedSoftLabelKDLoss()(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    with pytest.raises(ValueError, match='class_weights has 2 values for 1 foreground'):
        WeightedSoftLabelKDLoss(class_weights=[1.0, 2.0])(S2, T2)
    with pytest.raises(ValueError, match='differ in shape'):
        WeightedSoftLabelKDLoss()(S2, torch.zeros(1, 3))
