import math

import pytest
import torch
from mmdet.models.losses.kd_loss import knowledge_distillation_kl_div_loss

from mmkd.models.losses import (LocalizationDistillationLoss, distances_to_bins,
                                rebin_distribution)

P_T = torch.tensor([[0.5, 0.25, 0.25]])
P_S = torch.full((1, 3), 1 / 3)


def test_three_bins_by_hand():
    """KL([1/2, 1/4, 1/4] || uniform) = 1/2 ln 1.5 + 2 * 1/4 ln 0.75 = 0.0588915 summed over the
    bins (T = 1), a third of it averaged over the 3 bins (the default)."""
    expected = 0.5 * math.log(1.5) + 0.5 * math.log(0.75)
    summed = LocalizationDistillationLoss(temperature=1.0, loss_weight=1.0, bin_reduction='sum')
    assert summed(P_S.log(), P_T.log()).item() == pytest.approx(expected, abs=1e-6)
    loss = LocalizationDistillationLoss(temperature=1.0)
    assert loss(P_S.log(), P_T.log()).item() == pytest.approx(0.25 * expected / 3, abs=1e-6)
    with pytest.raises(ValueError, match="bin_reduction='max'"):
        LocalizationDistillationLoss(bin_reduction='max')


def test_temperature_squared_and_mean_over_bins():
    """Logits x T give the same distributions at temperature T: the row is T^2 times the T = 1
    row. mmdet's KL (the reference code's) averages over the n bins, as the default does; the
    sum is n times it."""
    plain = LocalizationDistillationLoss(temperature=1.0, loss_weight=1.0)
    hot = LocalizationDistillationLoss(temperature=10.0, loss_weight=1.0)
    s, t = P_S.log(), P_T.log()
    assert hot(10 * s, 10 * t).item() == pytest.approx(100 * plain(s, t).item(), rel=1e-5)
    torch.manual_seed(0)
    s, t = torch.randn(5, 17), torch.randn(5, 17)
    mmdet_rows = knowledge_distillation_kl_div_loss(s, t, T=10.0, reduction='none')  # bin mean
    ours = LocalizationDistillationLoss(loss_weight=1.0, reduction='none')(s, t)
    assert torch.allclose(ours, mmdet_rows, rtol=1e-4)
    summed = LocalizationDistillationLoss(loss_weight=1.0, reduction='none', bin_reduction='sum')
    assert torch.allclose(summed(s, t), 17 * mmdet_rows, rtol=1e-4)


def test_reference_main_region_with_known_weights():
    """The reference code's main region: 0.25 * T^2 * sum_rows w * mean_bins KL / 4, not divided
    by sum w. Two positives (8 edge rows) with class scores 0.5 and 0.25 repeated over their
    edges, sum w = 3: every row is the 3-bin case above at T = 1 (KL mean 0.0196305), so
    0.25 * 0.0196305 * 3 / 4 = 0.00368072; dividing by 4 * sum w (= 3) instead would give a third
    of it. The fixed divisor comes from the config (avg_factor=4.0) when the term passes none."""
    kl_mean = (0.5 * math.log(1.5) + 0.5 * math.log(0.75)) / 3
    w = torch.tensor([0.5] * 4 + [0.25] * 4)
    s, t = P_S.log().expand(8, 3), P_T.log().expand(8, 3)
    loss = LocalizationDistillationLoss(temperature=1.0, avg_factor=4.0)
    assert loss(s, t, w).item() == pytest.approx(0.25 * kl_mean * 3 / 4, rel=1e-5)
    assert loss(s, t, w, avg_factor=4 * 3.0).item() == pytest.approx(0.25 * kl_mean * 3 / 12,
                                                                     rel=1e-5)


def test_zero_when_equal_weights_and_gradient_to_student_only():
    s = torch.randn(4, 9, requires_grad=True)
    t = s.detach().clone().requires_grad_(True)
    loss = LocalizationDistillationLoss()
    assert loss(s, t).item() == pytest.approx(0.0, abs=1e-6)
    other = torch.randn(4, 9)
    rows = LocalizationDistillationLoss(reduction='none')(s, other)
    w = torch.tensor([1.0, 0.0, 2.0, 0.0])
    assert loss(s, other, weight=w, avg_factor=2.0).item() == pytest.approx(
        ((rows * w).sum() / 2).item(), rel=1e-6)
    loss(s, t + 1.0 * torch.randn(4, 9)).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    with pytest.raises(ValueError, match='re-bin a teacher with another reg_max'):
        loss(s, torch.zeros(4, 17))


def test_bins_on_a_bin_between_bins_and_past_the_last():
    d = torch.tensor([[2.0, 2.25, 20.0, -1.0]])
    bins = distances_to_bins(d, reg_max=16)
    assert bins.shape == (4, 17)
    assert bins.sum(dim=1).tolist() == pytest.approx([1.0] * 4)
    assert bins[0, 2] == 1.0
    assert bins[1, 2].item() == pytest.approx(0.75) and bins[1, 3].item() == pytest.approx(0.25)
    assert bins[2, 16] == 1.0  # clamped to the last bin
    assert bins[3, 0] == 1.0
    assert distances_to_bins(torch.tensor([[16.0] * 4]), 16)[:, 16].tolist() == [1.0] * 4


def test_gaussian_bins():
    bins = distances_to_bins(torch.tensor([[3.0, 3.4, 0.0, 16.0]]), reg_max=16, sigma=1.0)
    assert bins.sum(dim=1).tolist() == pytest.approx([1.0] * 4)
    assert bins.argmax(dim=1).tolist() == [3, 3, 0, 16]
    # exp(-(i - 3)^2 / 2): bins 2 and 4 are e^-0.5 times bin 3
    assert (bins[0, 2] / bins[0, 3]).item() == pytest.approx(math.exp(-0.5))


def test_rebinning_between_reg_max():
    """Fewer teacher bins land on the same student bins; more fold onto the last one."""
    p = torch.softmax(torch.randn(3, 9), dim=1)
    up = rebin_distribution(p, 16)
    assert torch.allclose(up[:, :9], p) and torch.equal(up[:, 9:], torch.zeros(3, 8))
    q = torch.softmax(torch.randn(3, 17), dim=1)
    down = rebin_distribution(q, 8)
    assert torch.allclose(down[:, :8], q[:, :8])
    assert torch.allclose(down[:, 8], q[:, 8:].sum(dim=1))


def test_teacher_bins_as_log_probabilities():
    """A two-bin teacher from distances_to_bins, given as log p: finite, zero-mass bins add
    nothing, and the student that predicts the same distribution gets 0."""
    p = distances_to_bins(torch.tensor([[2.25, 0.0, 3.0, 1.5]]), reg_max=4)
    loss = LocalizationDistillationLoss(temperature=1.0, loss_weight=1.0)
    value = loss(torch.zeros(4, 5), p.log())
    assert torch.isfinite(value)
    assert loss(p.clamp(min=1e-12).log(), p.log()).item() == pytest.approx(0.0, abs=1e-5)
