import math

import pytest
import torch

from mmkd.models.losses import LogitKDLoss, logit_kd
from mmkd.registry import MODELS


def binary_kl(p, q):
    return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))


def test_softmax_value_by_hand():
    """t = [ln 3, 0] -> p_t = [0.75, 0.25]; s = [0, 0] -> p_s = [0.5, 0.5];
    KL = 0.75 ln 1.5 + 0.25 ln 0.5 = 0.130812."""
    s = torch.tensor([[0.0, 0.0]])
    t = torch.tensor([[math.log(3), 0.0]])
    rows = logit_kd(s, t, temperature=1.0, use_sigmoid=False)
    assert rows.item() == pytest.approx(0.75 * math.log(1.5) + 0.25 * math.log(0.5), abs=1e-6)
    assert rows.item() == pytest.approx(0.130812, abs=1e-6)


def test_sigmoid_value_by_hand_with_temperature():
    """T = 2: p_t = sigmoid(ln 3 / 2) = sqrt3 / (1 + sqrt3), p_s = sigmoid(0) = 0.5 for the first
    class; the second class is equal on both sides (KL 0). Row loss = 4 * KL_binary."""
    s = torch.tensor([[0.0, 1.0]])
    t = torch.tensor([[math.log(3), 1.0]])
    p_t = math.sqrt(3) / (1 + math.sqrt(3))
    expected = 4 * binary_kl(p_t, 0.5)
    assert expected == pytest.approx(0.145372, abs=1e-5)
    assert logit_kd(s, t, 2.0, use_sigmoid=True).item() == pytest.approx(expected, abs=1e-6)


def test_sigmoid_kl_as_bce_minus_entropy_equals_the_direct_formula():
    """The sigmoid KL is computed as BCE(s, p_t) - H(p_t); against the direct binary KL
    p_t log(p_t / p_s) + (1 - p_t) log((1 - p_t) / (1 - p_s)), written with float64 sigmoids, on
    logits up to +-12 (p within 1e-5 of 0 or 1): the value of every element and the student's
    gradient (sigmoid(s / T) - p_t) / T, both times the T^2 the function includes."""
    from mmkd.models.losses.logit_kd import sigmoid_kl as kl_of
    torch.manual_seed(3)
    s = (torch.rand(6, 5, dtype=torch.float64) * 24 - 12).requires_grad_()
    t = torch.rand(6, 5, dtype=torch.float64) * 24 - 12
    for T in (1.0, 2.0):
        p, q = torch.sigmoid(t / T), torch.sigmoid(s.detach() / T)
        direct = p * torch.log(p / q) + (1 - p) * torch.log((1 - p) / (1 - q))
        got = kl_of(s.double(), t, T)
        assert torch.allclose(got.double(), T ** 2 * direct, atol=1e-5)
        grad, = torch.autograd.grad(got.sum(), s)
        assert torch.allclose(grad.double(), T * (q - p), atol=1e-6)


def test_dense_layout_counts_rows_per_anchor():
    """(N=1, A*K=4, 1, 1) with A=2: rows [ln3, 0] vs [0, 0] (0.130812) and an equal row (0);
    mean over the 2 rows = 0.065406; with loss_weight 2 -> 0.130812."""
    loss = LogitKDLoss(temperature=1.0, use_sigmoid=False, num_anchors=2, loss_weight=2.0)
    s = torch.zeros(1, 4, 1, 1)
    t = torch.tensor([math.log(3), 0.0, 0.0, 0.0]).view(1, 4, 1, 1)
    assert loss(s, t).item() == pytest.approx(2 * 0.130812 / 2, abs=1e-5)
    assert loss(s, t, reduction_override='sum').item() == pytest.approx(2 * 0.130812, abs=1e-5)


def test_zero_when_equal_and_gradient_only_to_student():
    loss = LogitKDLoss(temperature=2.0)
    t = torch.randn(2, 18, 3, 3, requires_grad=True)
    s = t.detach().clone().requires_grad_(True)
    value = loss(s, t)
    assert value.item() == pytest.approx(0.0, abs=1e-6)
    loss(s + torch.randn_like(s), t).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None


def test_empty_rows_give_zero_that_backpropagates():
    s = torch.zeros(0, 5, requires_grad=True)
    value = LogitKDLoss()(s, torch.zeros(0, 5))
    value.backward()
    assert value.item() == 0.0 and s.grad.shape == (0, 5)


def test_gradcheck_float64():
    s = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    t = torch.randn(3, 4, dtype=torch.float64)
    # logit_kd computes in float32 for autocast safety; check the math in float64 directly.
    def f(x):
        p_t = torch.softmax(t / 2, -1)
        return (p_t * (torch.log_softmax(t / 2, -1) - torch.log_softmax(x / 2, -1))).sum() * 4
    assert torch.autograd.gradcheck(f, (s,))
    assert f(s).item() == pytest.approx(logit_kd(s, t, 2.0).sum().item(), rel=1e-5)


def test_builds_from_config_and_rejects_mismatched_shapes():
    loss = MODELS.build(dict(type='mmkd.LogitKDLoss', temperature=3.0))
    assert isinstance(loss, LogitKDLoss) and loss.temperature == 3.0
    with pytest.raises(ValueError, match=r'\(2, 9, 4, 4\).*\(2, 18, 4, 4\)'):
        loss(torch.zeros(2, 9, 4, 4), torch.zeros(2, 18, 4, 4))


def test_weight_mask_and_avg_factor_select_rows():
    """Rows: [ln3, 0] vs [0, 0] (0.130812) and [0, 0] vs [5, 5] (large); a mask keeping only the
    first row with avg_factor 1 gives 0.130812 exactly; a (N, H*W*A)-shaped mask works alike."""
    loss = LogitKDLoss(use_sigmoid=False)
    s = torch.zeros(2, 2)
    t = torch.tensor([[math.log(3), 0.0], [5.0, -5.0]])
    mask = torch.tensor([True, False])
    assert loss(s, t, mask, avg_factor=1.0).item() == pytest.approx(0.130812, abs=1e-5)
    dense = LogitKDLoss(use_sigmoid=False, num_anchors=1)
    s4, t4 = s.t().reshape(1, 2, 1, 2), t.t().reshape(1, 2, 1, 2)  # (N=1, K=2, H=1, W=2)
    assert dense(s4, t4, mask.view(1, 2), 1.0).item() == pytest.approx(0.130812, abs=1e-5)
    with pytest.raises(ValueError, match='weight has 3 values for 2 rows'):
        loss(s, t, torch.ones(3))


def test_soft_kl_by_hand_and_where_the_teacher_gives_no_mass():
    """The shared T^2 KL of CWD, pixel-wise KD, logit KD and LD. Teacher logits (ln 3, 0) and
    uniform student: at T = 1, 3/4 ln(3/2) + 1/4 ln(1/2); at T = 2, p_t = (r, 1 - r) with
    r = sqrt(3) / (sqrt(3) + 1) and the KL times 4."""
    import math

    from mmkd.models.losses.utils import soft_kl
    s, t = torch.zeros(1, 2), torch.tensor([[math.log(3), 0.0]])
    assert soft_kl(s, t, 1.0, dim=1).item() == pytest.approx(
        0.75 * math.log(1.5) + 0.25 * math.log(0.5), abs=1e-6)
    r = math.sqrt(3) / (math.sqrt(3) + 1)
    assert soft_kl(s, t, 2.0, dim=1).item() == pytest.approx(
        4 * (r * math.log(2 * r) + (1 - r) * math.log(2 * (1 - r))), abs=1e-6)
    # the distributions run along ``dim``, which is summed away
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    assert soft_kl(x, x, 4.0, dim=1).shape == (2, 4) and soft_kl(x, x, 4.0, dim=1).abs().max() \
        < 1e-12
    # a class the teacher's softmax underflows to 0 adds nothing (not 0 * -inf = nan), and the
    # student's gradient stays finite
    s = torch.zeros(1, 2, requires_grad=True)
    loss = soft_kl(s, torch.tensor([[0.0, -1e4]]), 1.0, dim=1)
    assert loss.item() == pytest.approx(math.log(2), abs=1e-6)
    loss.sum().backward()
    assert torch.isfinite(s.grad).all() and s.grad[0].tolist() == pytest.approx([-0.5, 0.5])


def test_masked_rows_give_the_dense_value_and_gradient():
    """Only the rows of nonzero weight are computed: the value, the mean over all M rows and the
    student's gradient equal those of the dense computation (every row weighted), for a 0/1
    mask, a real-valued weight and a mask that keeps nothing; 'none' keeps every row."""
    from mmkd.models.losses.logit_kd import logit_kd
    from mmkd.models.losses.utils import reduce_rows
    torch.manual_seed(0)
    s, t = torch.randn(2, 18, 3, 3), torch.randn(2, 18, 3, 3)
    loss = LogitKDLoss(temperature=2.0, num_anchors=2, loss_weight=1.5)
    M = 2 * 3 * 3 * 2
    for weight in (torch.rand(M) > 0.7, torch.rand(M) * (torch.rand(M) > 0.5),
                   torch.zeros(M, dtype=torch.bool)):
        for avg_factor in (None, 3.0):
            a = s.clone().requires_grad_()
            b = s.clone().requires_grad_()
            fast = loss(a, t, weight, avg_factor)
            rows = logit_kd(loss._rows(b), loss._rows(t), 2.0, True)
            dense = 1.5 * reduce_rows(rows, weight.float(), 'mean', avg_factor)
            assert fast.item() == pytest.approx(dense.item(), rel=1e-6, abs=1e-9)
            fast.backward()
            dense.backward()
            assert torch.allclose(a.grad, b.grad, atol=1e-7)
    assert loss(s, t, torch.ones(M), reduction_override='none').shape == (M,)


def test_levels_at_once_is_the_sum_of_the_levels():
    """Lists of levels (what a per-level term passes) give the sum of each level's loss, with
    each level's own mean, a shared avg_factor or 'sum', and the same student gradient."""
    torch.manual_seed(1)
    sizes = [(4, 4), (2, 2), (1, 1)]
    s = [torch.randn(2, 18, h, w) for h, w in sizes]
    t = [torch.randn(2, 18, h, w) for h, w in sizes]
    masks = [torch.rand(2, h * w * 2) > 0.5 for h, w in sizes]
    loss = LogitKDLoss(temperature=2.0, num_anchors=2, loss_weight=0.5)
    assert LogitKDLoss.levels_at_once
    for weights, avg_factor, reduction in ((None, None, None), (masks, None, None),
                                           (masks, 7.0, None), (masks, None, 'sum')):
        a = [x.clone().requires_grad_() for x in s]
        b = [x.clone().requires_grad_() for x in s]
        once = loss(a, t, weights, avg_factor, reduction)
        each = sum(loss(x, y, None if weights is None else w, avg_factor, reduction)
                   for x, y, w in zip(b, t, weights or [None] * 3))
        # float32, summed in another order (and the binary KL as BCE - entropy, which cancel)
        assert once.item() == pytest.approx(each.item(), rel=1e-5)
        once.backward()
        each.backward()
        assert all(torch.allclose(x.grad, y.grad, atol=1e-7) for x, y in zip(a, b))
    rows = loss(s, t, masks, reduction_override='none')
    assert rows.shape == (sum(2 * h * w * 2 for h, w in sizes),)


def test_a_level_without_kept_rows_adds_nothing():
    """Positives are on a few levels only: a level whose mask keeps no row is skipped, and the
    value and the gradients of the other levels equal the dense computation (every row of every
    level laid out and weighted); the skipped level gets no gradient but zero."""
    from mmkd.models.losses.utils import reduce_rows
    torch.manual_seed(2)
    sizes = [(4, 4), (2, 2), (1, 1)]
    s = [torch.randn(2, 18, h, w) for h, w in sizes]
    t = [torch.randn(2, 18, h, w) for h, w in sizes]
    masks = [torch.rand(2, h * w * 2) > 0.5 for h, w in sizes]
    masks[1][:] = False
    loss = LogitKDLoss(temperature=2.0, num_anchors=2, loss_weight=0.5)
    a = [x.clone().requires_grad_() for x in s]
    b = [x.clone().requires_grad_() for x in s]
    fast = loss(a, t, masks, 5.0)
    dense = sum(0.5 * reduce_rows(logit_kd(loss._rows(x), loss._rows(y), 2.0, True),
                                  m.reshape(-1).float(), 'mean', 5.0)
                for x, y, m in zip(b, t, masks))
    assert masks[0].any() and masks[2].any()
    assert fast.item() == pytest.approx(dense.item(), rel=1e-5)
    fast.backward()
    dense.backward()
    for lv in (0, 2):
        assert torch.allclose(a[lv].grad, b[lv].grad, atol=1e-7)
    assert a[1].grad is None or not a[1].grad.any()
    assert not b[1].grad.any()
