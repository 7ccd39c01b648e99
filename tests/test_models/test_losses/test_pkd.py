import pytest
import torch

from mmkd.models.losses import PKDLoss, channel_standardise, pearson_kd
from mmkd.registry import MODELS


def test_value_by_hand():
    """One channel of 3 positions. s = [0, 1, 2]: mean 1, unbiased std 1, standardised
    [-1, 0, 1]; t = [4, 2, 0]: mean 2, std 2, standardised [1, 0, -1]. The squared differences
    [4, 0, 4] have mean 8/3; halved, 4/3; weight 10 -> 40/3."""
    s = torch.tensor([0.0, 1.0, 2.0]).view(1, 1, 1, 3)
    t = torch.tensor([4.0, 2.0, 0.0]).view(1, 1, 1, 3)
    assert channel_standardise(s).flatten().tolist() == pytest.approx([-1, 0, 1], abs=1e-5)
    assert pearson_kd(s, t).item() == pytest.approx(4 / 3, abs=1e-5)
    assert PKDLoss(loss_weight=10.0)(s, t).item() == pytest.approx(40 / 3, abs=1e-4)


def test_equals_one_minus_pearson_per_channel():
    """With M = N H W positions, the loss is (M - 1) / M * mean_c (1 - r_c), r_c the Pearson
    correlation of channel c over the batch and positions (torch.corrcoef)."""
    torch.manual_seed(0)
    s, t = torch.randn(2, 4, 3, 5, dtype=torch.float64), torch.randn(2, 4, 3, 5,
                                                                      dtype=torch.float64)
    s = s + 0.5 * t  # correlated channels, r well away from 0
    M = 2 * 3 * 5
    rows_s = s.permute(1, 0, 2, 3).reshape(4, M)
    rows_t = t.permute(1, 0, 2, 3).reshape(4, M)
    r = torch.stack([torch.corrcoef(torch.stack([a, b]))[0, 1] for a, b in zip(rows_s, rows_t)])
    expected = (M - 1) / M * (1 - r).mean()
    assert pearson_kd(s, t, eps=0.0).item() == pytest.approx(expected.item(), rel=1e-10)
    assert pearson_kd(s, t).item() == pytest.approx(expected.item(), rel=1e-5)


def test_zero_for_a_positive_scale_and_shift_of_the_teacher():
    """Each channel of the student is a_c t_c + b_c with a_c > 0: the standardised maps agree;
    a negative scale gives the largest loss, 2 (M - 1) / M."""
    torch.manual_seed(1)
    t = torch.randn(2, 3, 4, 4)
    a = torch.tensor([0.1, 3.0, 50.0]).view(1, 3, 1, 1)
    b = torch.tensor([-2.0, 0.0, 7.0]).view(1, 3, 1, 1)
    assert PKDLoss()(a * t + b, t).item() == pytest.approx(0.0, abs=1e-9)
    assert PKDLoss()(-t, t).item() == pytest.approx(2 * 31 / 32, abs=1e-5)


def test_gradient_to_student_only():
    t = torch.randn(2, 3, 4, 4, requires_grad=True)
    s = torch.randn(2, 3, 4, 4, requires_grad=True)
    PKDLoss(loss_weight=6.0)(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None


def test_single_position_and_constant_channel_are_zero_not_nan():
    """One image and a 1 x 1 level: the reference code's unbiased std is NaN; here each channel
    standardises to 0 and the loss is 0. A constant student channel standardises to 0 and its
    gradient is 0, not the NaN of std's backward at 0; the other channel's is unchanged."""
    s, t = torch.randn(1, 8, 1, 1, requires_grad=True), torch.randn(1, 8, 1, 1)
    loss = PKDLoss()(s, t)
    assert loss.item() == 0.0
    loss.backward()
    assert torch.isfinite(s.grad).all()
    torch.manual_seed(2)
    t = torch.randn(2, 2, 3, 3)
    s = torch.cat([torch.full((2, 1, 3, 3), 5.0), torch.randn(2, 1, 3, 3)], 1).requires_grad_()
    # channel 0: standardised s is 0, the teacher's has mean square (M - 1) / M; channel 1's mean
    # square difference is twice its own loss; the loss is half the mean over the two channels
    expected = (17 / 18 + 2 * pearson_kd(s[:, 1:], t[:, 1:]).item()) / 2 / 2
    value = PKDLoss()(s, t)
    assert value.item() == pytest.approx(expected, rel=1e-5)
    value.backward()
    assert torch.isfinite(s.grad).all() and s.grad[:, 0].abs().max() == 0


def test_builds_from_config_and_names_shapes():
    loss = MODELS.build(dict(type='mmkd.PKDLoss', loss_weight=10))
    assert loss.loss_weight == 10
    with pytest.raises(ValueError, match=r'\(1, 8, 4, 4\).*\(1, 16, 4, 4\).*adapter'):
        loss(torch.zeros(1, 8, 4, 4), torch.zeros(1, 16, 4, 4))
    with pytest.raises(ValueError, match='PKDLoss: eps=0'):
        PKDLoss(eps=0)
