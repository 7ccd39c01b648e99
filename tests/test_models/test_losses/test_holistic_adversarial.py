"""SKD's holistic term (WGAN-GP) and its discriminator, on a linear critic whose gradient is known
in closed form."""
import math

import pytest
import torch
import torch.nn as nn

from mmkd.models.discriminators import SegDiscriminator
from mmkd.models.losses import HolisticAdversarialLoss, gradient_penalty
from mmkd.registry import MODELS


class LinearCritic(nn.Module):
    """D(x) = sum(w * x) per sample, so grad_x D = w everywhere and ||grad|| = ||w||."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, maps, img=None):
        return (maps * self.w).sum(dim=(1, 2, 3))


def test_gradient_penalty_of_a_linear_critic():
    """||w|| = sqrt(4 * 0.25 + 4 * 1) = sqrt(5): penalty (sqrt(5) - 1)^2 = 1.527864, whatever
    the interpolation e."""
    w = torch.tensor([0.5, 0.5, 0.5, 0.5, 1., 1., 1., 1.]).view(1, 2, 2, 2)
    d = LinearCritic(w)
    real, fake = torch.rand(3, 2, 2, 2), torch.rand(3, 2, 2, 2)
    penalty = gradient_penalty(d, real, fake)
    assert penalty.item() == pytest.approx((math.sqrt(5) - 1) ** 2, rel=1e-6)
    # the penalty trains D: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    penalty.backward()
    expected = 2 * (math.sqrt(5) - 1) * w / math.sqrt(5)
    assert torch.allclose(d.w.grad, expected, atol=1e-6)


def test_losses_of_both_sides_by_hand():
    """Student logits all 0 -> maps 1/2 everywhere; teacher logits (0, log 3) -> maps (1/4, 3/4).
    With w = 1 on class 0 and 0 on class 1, over 2 x 2 pixels: D(S) = 4 * 1/2 = 2,
    D(T) = 4 * 1/4 = 1; ||w|| = 2, GP = 1.
    Student: -0.1 * 2 = -0.2. D: L_D = 2 - 1 + 10 * 1 = 11; Wasserstein estimate 1 - 2 = -1."""
    w = torch.zeros(1, 2, 2, 2)
    w[:, 0] = 1
    d = LinearCritic(w)
    s = torch.zeros(2, 2, 2, 2, requires_grad=True)
    t = torch.zeros(2, 2, 2, 2)
    t[:, 1] = math.log(3)
    loss = HolisticAdversarialLoss()
    assert loss(d, s, t).item() == pytest.approx(-0.2)
    out = loss.discriminator_loss(d, s, t)
    assert out['loss_disc'].item() == pytest.approx(11.0, rel=1e-6)
    assert out['disc_wasserstein'].item() == pytest.approx(-1.0)
    assert out['disc_gp'].item() == pytest.approx(1.0, rel=1e-6)
    out['loss_disc'].backward()
    assert s.grad is None  # D's step never reaches the student


def test_teacher_maps_are_resized_to_the_students():
    """A teacher at twice the resolution with constant logits gives the same maps."""
    w = torch.rand(1, 3, 4, 4)
    d = LinearCritic(w)
    s = torch.randn(2, 3, 4, 4)
    t_small = torch.randn(2, 3, 1, 1).expand(2, 3, 4, 4)
    t_big = t_small[:, :, :1, :1].expand(2, 3, 8, 8)
    loss = HolisticAdversarialLoss(gp_weight=0.0)
    a = loss.discriminator_loss(d, s, t_small)['disc_wasserstein']
    b = loss.discriminator_loss(d, s, t_big)['disc_wasserstein']
    assert a.item() == pytest.approx(b.item(), rel=1e-6)


@pytest.mark.parametrize('size', [20, 8, 3])
def test_discriminator_scores_each_image(size):
    d = SegDiscriminator(num_classes=11, base_channels=8)
    maps = torch.rand(2, 11, size, size).softmax(dim=1)
    out = d(maps)
    assert out.shape == (2,)
    assert torch.isfinite(out).all()


def test_discriminator_with_image_and_errors():
    d = MODELS.build(dict(type='mmkd.SegDiscriminator', num_classes=4, with_image=True,
                          base_channels=8))
    maps = torch.rand(2, 4, 8, 8)
    img = torch.randn(2, 3, 64, 64)
    assert d(maps, img).shape == (2,)
    # the image matters
    assert not torch.allclose(d(maps, img), d(maps, img.flip(-1)))
    with pytest.raises(ValueError, match="add 'img' to the adversarial term's inputs"):
        d(maps)
    with pytest.raises(ValueError, match=r'num_classes=4\) got maps of shape \(2, 5, 8, 8\)'):
        d(torch.rand(2, 5, 8, 8), img)


def test_spectral_norm_bounds_each_layer():
    """After some power iterations the normalised weights have largest singular value 1."""
    torch.manual_seed(0)  # power iteration's speed depends on the start (30 steps were not
    d = SegDiscriminator(num_classes=3, base_channels=8, self_attention=False)  # always enough)
    d.train()
    for _ in range(200):
        d(torch.rand(1, 3, 16, 16))
    for conv in [block[0] for block in d.layers] + [d.last]:
        sigma = torch.linalg.matrix_norm(conv.weight.detach().flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=1e-2)


def test_reference_options_logits_and_disc_weight():
    """maps='logits' hands the critic the raw logits: the linear critic's score is sum(w * z);
    disc_weight scales the whole critic loss (the same random e under the same seed)."""
    w = torch.tensor([0.5, 0.5, 0.5, 0.5, 1., 1., 1., 1.]).view(1, 2, 2, 2)
    d = LinearCritic(w)
    s, t = torch.randn(3, 2, 2, 2), torch.randn(3, 2, 2, 2)
    loss = HolisticAdversarialLoss(maps='logits', adv_weight=0.1)
    assert loss(d, s).item() == pytest.approx(-0.1 * (s * w).sum(dim=(1, 2, 3)).mean().item(),
                                              rel=1e-5)
    torch.manual_seed(0)
    one = loss.discriminator_loss(d, s, t)['loss_disc']
    torch.manual_seed(0)
    tenth = HolisticAdversarialLoss(maps='logits', disc_weight=0.1).discriminator_loss(
        d, s, t)['loss_disc']
    assert tenth.item() == pytest.approx(0.1 * one.item(), rel=1e-6)
    with pytest.raises(ValueError, match="maps='probs'"):
        HolisticAdversarialLoss(maps='probs')


def test_gradient_penalty_uses_running_batch_norm_statistics():
    """A critic BN -> sum: in training mode BatchNorm would mix the samples of the batch. In the
    penalty it runs on its running statistics (mean 0, var 1 at the start: nearly the identity),
    so the linear part's gradient norm is ||w|| / sqrt(1 + eps) for every sample; the BN stays in
    training mode afterwards and its running statistics are not touched."""
    w = torch.tensor([0.5, 0.5, 0.5, 0.5, 1., 1., 1., 1.]).view(1, 2, 2, 2)
    d = nn.Sequential(nn.BatchNorm2d(2, affine=False), LinearCritic(w))
    d.train()
    real, fake = torch.rand(3, 2, 2, 2), torch.rand(3, 2, 2, 2)
    penalty = gradient_penalty(d, real, fake)
    expected = (math.sqrt(5) / math.sqrt(1 + 1e-5) - 1) ** 2
    assert penalty.item() == pytest.approx(expected, rel=1e-5)
    assert d[0].training and torch.equal(d[0].running_mean, torch.zeros(2))


def test_reference_discriminator_shapes_and_errors():
    """On 64 x 64 maps: 32, 16, 8, 4 after the stride-2 convs, 1 x 1 after the 4 x 4 valid conv;
    an (N,) score. Smaller maps and an image input are refused by name."""
    from mmkd.models.discriminators import SKDReferenceDiscriminator
    d = MODELS.build(dict(type='mmkd.SKDReferenceDiscriminator', num_classes=19))
    maps = torch.randn(2, 19, 64, 64)
    assert d.last(d.body(d.input_norm(maps))).shape == (2, 1, 1, 1)
    assert d(maps).shape == (2,)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.modules()) == 1
    with pytest.raises(ValueError, match=r'at least 64 x 64.*\(20, 20\)'):
        d(torch.randn(2, 19, 20, 20))
    with pytest.raises(ValueError, match="remove 'img'"):
        SKDReferenceDiscriminator(num_classes=19, with_image=True)
