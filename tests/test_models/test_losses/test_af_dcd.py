import math

import pytest
import torch

from mmkd.models.losses import AfDCDLoss, channel_group_tokens, omni_contrastive
from mmkd.models.losses.af_dcd import centre_keep_mask
from mmkd.registry import MODELS
from tests.helpers import identity_conv3x3


def test_omni_contrastive_by_hand():
    """One position, 2 channels in 2 groups of 1, tau 1. Student [0, 1], teacher [0, 1].
    Token 0: positive -|0 - 0| = 0, its negative (the teacher's group 1) -|0 - 1| = -1:
    CE = ln(e^0 + e^-1) - 0 = ln(1 + e^-1); token 1 the same. Sum / (H'W' = 1) / N = 1."""
    s = torch.tensor([0.0, 1.0]).view(1, 2, 1, 1)
    value = omni_contrastive(s, s.clone(), groups=2, patch=(1, 1), pool=1, temperature=1.0)
    assert value.item() == pytest.approx(2 * math.log1p(math.exp(-1)), rel=1e-6)


def brute_force(s, t, groups, patch, pool, tau):
    """The loss from its definition, token by token."""
    s, t = torch.nn.functional.max_pool2d(s, pool), torch.nn.functional.max_pool2d(t, pool)
    N, C, H, W = s.shape
    d = C // groups
    ph, pw = patch
    total = 0.0
    for n in range(N):
        for a in range(H // ph):
            for b in range(W // pw):
                cells = [(a * ph + i, b * pw + j) for i in range(ph) for j in range(pw)]
                for (y, x) in cells:
                    for g in range(groups):
                        tok = s[n, g * d:(g + 1) * d, y, x]
                        pos = -(tok - t[n, g * d:(g + 1) * d, y, x]).abs().sum() / tau
                        negs = [-(tok - t[n, h * d:(h + 1) * d, yy, xx]).abs().sum() / tau
                                for (yy, xx) in cells for h in range(groups) if h != g]
                        logits = torch.stack([pos] + negs)
                        total += float(torch.logsumexp(logits, 0) - pos)
    return total / (H * W) / N


def test_omni_contrastive_matches_its_definition():
    """2 images, 4 channels in 2 groups, pooled 2 -> 4 x 4, patches of 2 x 2: 8 tokens per
    patch, 6 negatives each; against a loop over the tokens."""
    torch.manual_seed(0)
    s, t = torch.randn(2, 4, 8, 8), torch.randn(2, 4, 8, 8)
    got = omni_contrastive(s, t, groups=2, patch=(2, 2), pool=2, temperature=0.5)
    assert got.item() == pytest.approx(brute_force(s, t, 2, (2, 2), 2, 0.5), rel=1e-5)


def test_tokens_are_numbered_position_major():
    """Token k of a patch is position k // M and channel group k % M."""
    x = torch.arange(2 * 4 * 2 * 2, dtype=torch.float).view(2, 4, 2, 2)  # N 2, C 4, 2 x 2
    tok = channel_group_tokens(x, (2, 2), groups=2)  # (2 patches, 4 positions x 2 groups, 2)
    assert tok.shape == (2, 8, 2)
    # image 1, token 5: position 2 (row 1, col 0), group 1 (channels 2, 3)
    assert tok[1, 5].tolist() == x[1, 2:4, 1, 0].tolist()


def identity_projector(loss):
    identity_conv3x3(loss.projector[0], loss.projector[2])
    return loss


def test_loss_by_hand():
    """Plain projector made G(x) = relu(x), 2 channels in 2 groups, one position, no pooling.
    Student [0, 1] kept; teacher [0, 1]: the generation error is 0 and the contrast
    2 ln(1 + e^-1) (tau 1). Then the position masked: G = [0, 0], error (0 + 1) / N = 1,
    contrast: token 0 pos -0, neg -1; token 1 pos -1, neg -0: ln(1 + e^-1) + ln(1 + e^1)."""
    loss = identity_projector(AfDCDLoss(student_channels=2, teacher_channels=2, groups=2,
                                        patch=(1, 1), pool=1, temperature=1.0,
                                        projector='plain', fd_weight=0.5, ctr_weight=2.0,
                                        loss_weight=3.0))
    s = torch.tensor([0.0, 1.0]).view(1, 2, 1, 1)
    kept = loss(s, s.clone(), keep=torch.ones(1, 1, 1, 1)).item()
    assert kept == pytest.approx(3 * 2 * 2 * math.log1p(math.exp(-1)), rel=1e-6)
    masked = loss(s, s.clone(), keep=torch.zeros(1, 1, 1, 1)).item()
    ctr = math.log1p(math.exp(-1)) + math.log1p(math.exp(1))
    assert masked == pytest.approx(3 * (0.5 * 1 + 2 * ctr), rel=1e-6)


def test_centre_mask():
    keep = centre_keep_mask(torch.zeros(2, 3, 6, 9))
    assert keep.shape == (2, 1, 6, 9)
    assert keep[0, 0, 2:4, 3:6].sum() == 0 and keep.sum() == 2 * (54 - 6)


def test_gradients_reach_the_student_align_and_projector_only():
    torch.manual_seed(0)
    loss = AfDCDLoss(student_channels=4, teacher_channels=8, groups=4, patch=(2, 2), pool=2)
    s = torch.randn(2, 4, 8, 8, requires_grad=True)
    t = torch.randn(2, 8, 8, 8, requires_grad=True)
    loss(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    assert all(p.grad is not None for p in loss.parameters())


def test_centre_mask_in_the_loss():
    """mask='centre' drops the centre block before the projector: the loss equals the one with
    that mask given, and differs from keeping everything."""
    torch.manual_seed(0)
    loss = AfDCDLoss(student_channels=4, teacher_channels=4, groups=2, patch=(2, 2), pool=1,
                     mask='centre', projector='plain')
    s, t = torch.randn(1, 4, 6, 6), torch.randn(1, 4, 6, 6)
    centre = centre_keep_mask(s)
    assert loss(s, t).item() == pytest.approx(loss(s, t, keep=centre).item(), rel=1e-6)
    assert loss(s, t).item() != pytest.approx(loss(s, t, keep=torch.ones_like(centre)).item())


def test_errors_name_the_setting():
    with pytest.raises(ValueError, match='groups=16 must divide teacher_channels=24'):
        AfDCDLoss(student_channels=8, teacher_channels=24)
    with pytest.raises(ValueError, match="mask='middle'"):
        AfDCDLoss(student_channels=8, teacher_channels=16, mask='middle')
    with pytest.raises(ValueError, match=r'mask_ratio=1.0 is the share'):
        AfDCDLoss(student_channels=8, teacher_channels=16, mask_ratio=1.0)
    with pytest.raises(ValueError, match=r'patch=\(0, 4\) must be two positive sizes'):
        AfDCDLoss(student_channels=8, teacher_channels=16, patch=(0, 4))
    with pytest.raises(ValueError, match='temperature=0 must be > 0'):
        AfDCDLoss(student_channels=8, teacher_channels=16, temperature=0)
    loss = AfDCDLoss(student_channels=16, teacher_channels=16)
    with pytest.raises(ValueError, match=r"student's \(N, 16, H, W\) feature"):
        loss(torch.randn(1, 8, 16, 16), torch.randn(1, 16, 16, 16))
    with pytest.raises(ValueError, match="teacher_channels=16 but the teacher's feature has 32"):
        loss(torch.randn(1, 16, 16, 16), torch.randn(1, 32, 16, 16))
    with pytest.raises(ValueError, match=r'20x20 feature max-pooled by pool=4 is 5x5'):
        loss(torch.randn(1, 16, 20, 20), torch.randn(1, 16, 20, 20))
    with pytest.raises(ValueError, match='same stride'):
        loss(torch.randn(1, 16, 16, 16), torch.randn(1, 16, 32, 32))


def test_built_from_a_config_dict():
    loss = MODELS.build(dict(type='mmkd.AfDCDLoss', student_channels=512,
                             teacher_channels=2048))
    assert (loss.fd_weight, loss.ctr_weight, loss.temperature, loss.groups, loss.pool) == \
        (2e-6, 0.005, 0.07, 16, 4)
    assert loss.align.weight.shape == (2048, 512, 1, 1)
    assert type(loss.projector).__name__ == 'EnhancedProjector'
