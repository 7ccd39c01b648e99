import math

import pytest
import torch
import torch.nn.functional as F

from mmkd.models.losses import (ChannelWiseDivergenceLoss, PairWiseKDLoss, PixelWiseKDLoss,
                                channel_wise_divergence, pair_wise_kd, pixel_wise_kd)
from mmkd.registry import MODELS

# Pixel 0: t = [ln 3, 0] -> p_t = [3/4, 1/4]; s = [0, 0] -> p_s = [1/2, 1/2];
#   KL0 = 3/4 ln(3/2) + 1/4 ln(1/2) = 0.130812.
# Pixel 1: t = [0, 0] -> p_t = [1/2, 1/2]; s = [ln 3, 0] -> p_s = [3/4, 1/4];
#   KL1 = 1/2 ln(2/3) + 1/2 ln(2) = 1/2 ln(4/3) = 0.143841.
KL0 = 0.75 * math.log(1.5) + 0.25 * math.log(0.5)
KL1 = 0.5 * math.log(4 / 3)


def two_pixels(scale=1.0):
    """(N=1, C=2, H=1, W=2) student and teacher logits of the two pixels above, times scale."""
    s = torch.tensor([[0.0, math.log(3)], [0.0, 0.0]]).view(1, 2, 1, 2) * scale
    t = torch.tensor([[math.log(3), 0.0], [0.0, 0.0]]).view(1, 2, 1, 2) * scale
    return s, t


def student_grad_only(loss, s_shape, t_shape):
    """Backward through ``loss``: the student gets a gradient, the teacher none."""
    s = torch.randn(*s_shape, requires_grad=True)
    t = torch.randn(*t_shape, requires_grad=True)
    loss(s, t).backward()
    return s.grad is not None and s.grad.abs().sum() > 0 and t.grad is None


# ---------------------------------------------------------------- pixel-wise


def test_pixel_wise_value_by_hand():
    """Mean over the 2 pixels (KL0 + KL1) / 2 = 0.137327; loss_weight 10 -> 1.373265."""
    s, t = two_pixels()
    assert KL0 == pytest.approx(0.130812, abs=1e-6) and KL1 == pytest.approx(0.143841, abs=1e-6)
    assert pixel_wise_kd(s, t).flatten().tolist() == pytest.approx([KL0, KL1], abs=1e-6)
    assert PixelWiseKDLoss()(s, t).item() == pytest.approx(10 * (KL0 + KL1) / 2, abs=1e-5)
    assert PixelWiseKDLoss()(s, t).item() == pytest.approx(1.373265, abs=1e-5)


def test_pixel_wise_temperature_squared():
    """Logits doubled and T = 2 give the same distributions, so the loss is T^2 = 4 times the
    T = 1 value: 4 * 1.373265 = 5.493061."""
    s, t = two_pixels(scale=2.0)
    value = PixelWiseKDLoss(temperature=2.0)(s, t).item()
    assert value == pytest.approx(4 * 10 * (KL0 + KL1) / 2, abs=1e-5)
    assert value == pytest.approx(5.493061, abs=1e-5)


def test_pixel_wise_reference_normalisation_with_batch_2():
    """The reference code sums over the batch and divides by h * w only: two copies of the
    two-pixel image give 10 * 2 * (KL0 + KL1) / 2 = 2.746530, twice the mean over the batch's 4
    pixels (normalize='pixels'). With pixel 1 of image 0 ignored: 10 * (KL0 + KL0 + KL1) / 2.
    The gradient is that of the reference code's cross-entropy sum (the KL plus the teacher's
    entropy, a constant)."""
    s, t = two_pixels()
    s2, t2 = torch.cat([s, s]), torch.cat([t, t])
    assert PixelWiseKDLoss()(s2, t2).item() == pytest.approx(2.746530, abs=1e-5)
    assert PixelWiseKDLoss(normalize='pixels')(s2, t2).item() == pytest.approx(1.373265, abs=1e-5)
    mask = torch.tensor([[[True, False]], [[True, True]]])
    assert PixelWiseKDLoss()(s2, t2, mask).item() == pytest.approx(
        10 * (2 * KL0 + KL1) / 2, abs=1e-5)
    x = s2.clone().requires_grad_(True)
    PixelWiseKDLoss()(x, t2).backward()
    y = s2.clone().requires_grad_(True)
    N, C, H, W = y.shape
    p_t = F.softmax(t2, dim=1)
    (10 * (-p_t * F.log_softmax(y, dim=1)).sum() / (H * W)).backward()
    assert torch.allclose(x.grad, y.grad, atol=1e-6)
    with pytest.raises(ValueError, match="normalize='batch'"):
        PixelWiseKDLoss(normalize='batch')


def test_pixel_wise_valid_mask_keeps_only_valid_pixels():
    """Pixel 1 ignored: the mean is over pixel 0 alone, 10 * KL0 = 1.308120. The same mask at
    (2, 4) is resized nearest to (1, 2), which reads columns 0 and 2: [True, False] again."""
    s, t = two_pixels()
    loss = PixelWiseKDLoss(normalize='pixels')
    assert loss(s, t, torch.tensor([[[True, False]]])).item() == pytest.approx(10 * KL0, abs=1e-5)
    assert loss(s, t, torch.tensor([[[False, True]]])).item() == pytest.approx(10 * KL1, abs=1e-5)
    big = torch.tensor([[[True, True, False, False], [True, True, False, False]]])
    assert loss(s, t, big).item() == pytest.approx(1.308120, abs=1e-5)


def test_pixel_wise_all_ignored_gives_zero_that_backpropagates():
    s, t = two_pixels()
    s.requires_grad_(True)
    for normalize in ('image', 'pixels'):
        s.grad = None
        value = PixelWiseKDLoss(normalize=normalize)(s, t, torch.zeros(1, 1, 2, dtype=torch.bool))
        value.backward()
        assert value.item() == 0.0 and s.grad is not None and s.grad.abs().sum() == 0


def test_pixel_wise_resizes_teacher_bilinearly():
    """A teacher with every column doubled (W = 4) resizes back to the (1, 2) map exactly
    (align_corners=False samples at 0.5 and 2.5), so the value stays 1.373265; a random teacher
    gives what the manually interpolated teacher gives."""
    s, t = two_pixels()
    loss = PixelWiseKDLoss()
    assert loss(s, t.repeat_interleave(2, dim=-1)).item() == pytest.approx(1.373265, abs=1e-5)
    s, t = torch.randn(2, 5, 4, 6), torch.randn(2, 5, 8, 12)
    manual = F.interpolate(t, size=(4, 6), mode='bilinear', align_corners=False)
    assert loss(s, t).item() == pytest.approx(loss(s, manual).item(), rel=1e-6)


def test_pixel_wise_zero_when_equal_and_gradient_only_to_student():
    t = torch.randn(2, 5, 3, 3)
    assert PixelWiseKDLoss(temperature=2.0)(t.clone(), t).item() == pytest.approx(0, abs=1e-6)
    assert student_grad_only(PixelWiseKDLoss(), (2, 5, 3, 3), (2, 5, 6, 6))


def test_pixel_wise_builds_from_config_and_rejects_other_classes():
    loss = MODELS.build(dict(type='mmkd.PixelWiseKDLoss', temperature=2.0))
    assert isinstance(loss, PixelWiseKDLoss) and loss.temperature == 2.0 and loss.loss_weight == 10
    with pytest.raises(ValueError, match=r'\(1, 2, 1, 2\).*\(1, 3, 1, 2\)'):
        loss(torch.zeros(1, 2, 1, 2), torch.zeros(1, 3, 1, 2))
    with pytest.raises(ValueError, match=r'valid_mask \(2, 1, 2\)'):
        loss(torch.zeros(1, 2, 1, 2), torch.zeros(1, 2, 1, 2), torch.ones(2, 1, 2).bool())


def test_pixel_wise_gradcheck_float64_and_half_goes_to_float32():
    s = torch.randn(1, 3, 2, 3, dtype=torch.float64, requires_grad=True)
    t = torch.randn(1, 3, 4, 6, dtype=torch.float64)
    mask = torch.tensor([[[True, False, True], [True, True, False]]])
    loss = PixelWiseKDLoss(temperature=2.0)
    assert torch.autograd.gradcheck(lambda x: loss(x, t, mask), (s,))
    assert pixel_wise_kd(s.detach().half(), t.half()).dtype == torch.float32


# ----------------------------------------------------------------- pair-wise


def test_pair_wise_value_by_hand_with_different_channels():
    """H = W = 2, pool_scale 0.5 -> kernel 1 -> 4 nodes. Student nodes (C=2), raster order:
    (1,0), (1,0), (0,1), (0,1): a_s is 1 within {0,1} and {2,3}, 0 across. Teacher nodes (C=3)
    all (1,0,0): a_t = 1 everywhere. 8 entries differ by 1: 8 / 4^2 = 0.5. A second sample
    with equal affinities (0) halves the batch mean: 0.25."""
    s = torch.tensor([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]]).view(1, 2, 2, 2)
    t = torch.zeros(1, 3, 2, 2)
    t[:, 0] = 1.0
    assert pair_wise_kd(s, t).tolist() == pytest.approx([0.5])
    s2 = torch.cat([s, torch.ones(1, 2, 2, 2)])  # second sample: every node (1,1), a_s = 1
    assert PairWiseKDLoss()(s2, t.repeat(2, 1, 1, 1)).item() == pytest.approx(0.25)
    assert PairWiseKDLoss(loss_weight=4.0)(s, t).item() == pytest.approx(2.0)


def test_pair_wise_ceil_mode_pooling_on_odd_size():
    """5 x 5, pool_scale 0.5 -> kernel = stride = int(2.5) = 2; ceil mode gives 3 x 3 nodes,
    the last row / column pooling the one leftover pixel. Every pixel is (1,0) except (4,4) =
    (0,1), which alone forms node 8: it is orthogonal to the 8 others, so 2 * 8 = 16 entries
    of a_s differ from the teacher's all-ones a_t: 16 / 9^2 = 0.197531. (Floor mode: 2 x 2
    equal nodes, 0; kernel 1: 48 / 625; kernel 3: 2 x 2 nodes, another value.)"""
    s = torch.zeros(1, 2, 5, 5)
    s[:, 0] = 1.0
    s[0, :, 4, 4] = torch.tensor([0.0, 1.0])
    t = torch.zeros(1, 2, 5, 5)
    t[:, 0] = 1.0
    assert PairWiseKDLoss()(s, t).item() == pytest.approx(16 / 81)
    assert PairWiseKDLoss()(s, t).item() == pytest.approx(0.197531, abs=1e-6)


def test_pair_wise_cosine_is_scale_invariant_and_teacher_is_resized():
    s, t = torch.randn(2, 4, 6, 6), torch.randn(2, 8, 6, 6)
    loss = PairWiseKDLoss()
    assert loss(3.0 * s, t).item() == pytest.approx(loss(s, t).item(), rel=1e-5)
    big_t = torch.randn(2, 8, 12, 12)
    manual = F.interpolate(big_t, size=(6, 6), mode='bilinear', align_corners=False)
    assert loss(s, big_t).item() == pytest.approx(loss(s, manual).item(), rel=1e-6)


def test_pair_wise_zero_when_equal_and_gradient_only_to_student():
    t = torch.randn(2, 4, 6, 6)
    assert PairWiseKDLoss()(t.clone(), t).item() == pytest.approx(0.0, abs=1e-7)
    assert student_grad_only(PairWiseKDLoss(), (2, 4, 6, 6), (2, 16, 6, 6))


def test_pair_wise_builds_from_config_needs_no_adapter_and_rejects_other_batch():
    loss = MODELS.build(dict(type='mmkd.PairWiseKDLoss', pool_scale=0.25))
    assert isinstance(loss, PairWiseKDLoss) and loss.pool_scale == 0.25 and \
        not loss.needs_adapter
    with pytest.raises(ValueError, match=r'\(2, 4, 6, 6\).*\(1, 4, 6, 6\)'):
        loss(torch.zeros(2, 4, 6, 6), torch.zeros(1, 4, 6, 6))


def test_pair_wise_gradcheck_float64():
    s = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    t = torch.randn(2, 5, 4, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: PairWiseKDLoss()(x, t), (s,))


# -------------------------------------------------------------- channel-wise


def test_cwd_value_by_hand():
    """N = C = 1, H*W = 2, T = 4: t = [4 ln 3, 0] / 4 -> [3/4, 1/4]; s = 0 -> [1/2, 1/2];
    KL = KL0 = 0.130812; loss = 3 * 4^2 / (1 * 1) * KL0 = 6.278978."""
    s = torch.zeros(1, 1, 1, 2)
    t = torch.tensor([4 * math.log(3), 0.0]).view(1, 1, 1, 2)
    assert channel_wise_divergence(s, t).item() == pytest.approx(16 * KL0, abs=1e-5)
    assert ChannelWiseDivergenceLoss()(s, t).item() == pytest.approx(48 * KL0, abs=1e-5)
    assert ChannelWiseDivergenceLoss()(s, t).item() == pytest.approx(6.278978, abs=1e-5)


def test_cwd_normalises_by_batch_and_channels():
    """A second channel (or a second image) equal on both sides adds a KL of 0 but doubles
    N * C: half of 6.278978 = 3.139489."""
    s = torch.zeros(1, 2, 1, 2)
    t = torch.tensor([4 * math.log(3), 0.0, 0.5, 0.5]).view(1, 2, 1, 2)
    s[0, 1] = t[0, 1]
    assert ChannelWiseDivergenceLoss()(s, t).item() == pytest.approx(3.139489, abs=1e-5)
    s_n, t_n = s.permute(1, 0, 2, 3), t.permute(1, 0, 2, 3)  # (N=2, C=1, 1, 2)
    assert ChannelWiseDivergenceLoss()(s_n, t_n).item() == pytest.approx(3.139489, abs=1e-5)


def test_cwd_zero_when_equal_and_gradient_only_to_student():
    t = torch.randn(2, 5, 3, 3)
    assert ChannelWiseDivergenceLoss()(t.clone(), t).item() == pytest.approx(0.0, abs=1e-6)
    assert student_grad_only(ChannelWiseDivergenceLoss(), (2, 5, 3, 3), (2, 5, 3, 3))


def test_cwd_builds_from_config_and_rejects_mismatched_shapes():
    loss = MODELS.build(dict(type='mmkd.ChannelWiseDivergenceLoss', temperature=1.0))
    assert isinstance(loss, ChannelWiseDivergenceLoss) and loss.temperature == 1.0
    assert loss.loss_weight == 3.0
    with pytest.raises(ValueError, match=r'\(1, 19, 4, 4\).*\(1, 19, 8, 8\)'):
        loss(torch.zeros(1, 19, 4, 4), torch.zeros(1, 19, 8, 8))


def test_cwd_gradcheck_float64():
    s = torch.randn(2, 3, 2, 3, dtype=torch.float64, requires_grad=True)
    t = torch.randn(2, 3, 2, 3, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: ChannelWiseDivergenceLoss()(x, t), (s,))
