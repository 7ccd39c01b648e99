import math

import pytest
import torch

from mmkd.models.losses import QualityFocalKDLoss, quality_focal_kd
from mmkd.registry import MODELS


def test_value_by_hand():
    """s = 0 (score 0.5), t = ln 3 (score 0.75): BCE = -(0.75 ln 0.5 + 0.25 ln 0.5) = ln 2, the
    focal factor |0.5 - 0.75| = 0.25, so ln(2) / 4; with beta 2, ln(2) / 16. Two such classes in
    a row of weight 3, divided by avg_factor 2 and times loss_weight 0.5: 0.5 * 3 * 2 ln(2)/4 / 2."""
    s = torch.zeros(1, 2)
    t = torch.full((1, 2), math.log(3.0))
    assert quality_focal_kd(s, t).flatten().tolist() == pytest.approx([math.log(2) / 4] * 2)
    assert quality_focal_kd(s, t, beta=2.0)[0, 0].item() == pytest.approx(math.log(2) / 16)
    loss = QualityFocalKDLoss(loss_weight=0.5)(s, t, weight=torch.tensor([3.0]), avg_factor=2.0)
    assert loss.item() == pytest.approx(0.5 * 3 * 2 * math.log(2) / 4 / 2)


def test_beta_0_is_the_binary_cross_entropy_on_the_teachers_scores():
    """s = 0, p_t = 0.75: BCE = ln 2 with no focal factor; the gradient sigma(s) - p_t =
    -0.25 (at beta 0 the student's gradient does not vanish where the scores agree)."""
    s = torch.zeros(1, 1, requires_grad=True)
    t = torch.full((1, 1), math.log(3.0))
    loss = QualityFocalKDLoss(beta=0.0)(s, t)
    assert loss.item() == pytest.approx(math.log(2))
    loss.backward()
    assert s.grad.item() == pytest.approx(-0.25)


def test_zero_where_the_scores_agree_and_positive_elsewhere():
    torch.manual_seed(0)
    t = torch.randn(6, 5)
    assert QualityFocalKDLoss()(t.clone(), t).item() == 0.0
    assert QualityFocalKDLoss()(t + 0.3, t).item() > 0


def test_mean_without_avg_factor_is_over_rows_and_weights_zero_rows():
    torch.manual_seed(1)
    s, t = torch.randn(4, 3), torch.randn(4, 3)
    rows = quality_focal_kd(s, t).sum(1)
    assert QualityFocalKDLoss()(s, t).item() == pytest.approx(rows.mean().item(), rel=1e-6)
    w = torch.tensor([1.0, 0.0, 1.0, 0.0])
    assert QualityFocalKDLoss()(s, t, weight=w, avg_factor=1.0).item() == pytest.approx(
        (rows[0] + rows[2]).item(), rel=1e-6)


def test_gradient_is_the_analytic_one_and_reaches_the_student_only():
    """d/ds [BCE(s, p) |sigma(s) - p|] = (sigma - p) |sigma - p| + BCE sign(sigma - p) sigma (1 -
    sigma), checked at s = 0, p = 0.75."""
    s = torch.zeros(1, 1, requires_grad=True)
    t = torch.full((1, 1), math.log(3.0), requires_grad=True)
    QualityFocalKDLoss()(s, t).backward()
    expected = (0.5 - 0.75) * 0.25 + math.log(2) * -1 * 0.25
    assert s.grad.item() == pytest.approx(expected, rel=1e-6)
    assert t.grad is None


def test_built_from_a_config_and_clear_errors():
    loss = MODELS.build(dict(type='mmkd.QualityFocalKDLoss', beta=2.0, loss_weight=4.0))
    assert (loss.beta, loss.loss_weight) == (2.0, 4.0)
    with pytest.raises(ValueError, match='beta=-1'):
        QualityFocalKDLoss(beta=-1)
    with pytest.raises(ValueError, match=r'\(3, 2\).*\(3, 4\)'):
        QualityFocalKDLoss()(torch.zeros(3, 2), torch.zeros(3, 4))
    with pytest.raises(ValueError, match='rows of logits'):
        QualityFocalKDLoss()(torch.zeros(3, 2, 2), torch.zeros(3, 2, 2))


def test_empty_rows_give_a_zero_that_back_propagates():
    s = torch.zeros(0, 4, requires_grad=True)
    loss = QualityFocalKDLoss()(s, torch.zeros(0, 4))
    loss.backward()
    assert loss.item() == 0.0 and s.grad.shape == (0, 4)
