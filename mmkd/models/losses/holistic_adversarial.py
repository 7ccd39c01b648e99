"""SKD's holistic term: adversarial KD with a Wasserstein critic and gradient penalty (Liu et al.,
"Structured Knowledge Distillation for Semantic Segmentation", CVPR 2019, arXiv:1903.04197,
Sec. 3.2, Eqn. (3); WGAN-GP: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS
2017, arXiv:1704.00028, Eqn. (3))."""
from contextlib import contextmanager

import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS
from .utils import check_choice


MAPS = ('softmax', 'logits')


def score_maps(logits, size=None, maps='softmax'):
    """What the critic reads of segmentation logits (N, C, H, W), in float32, resized bilinearly
    to ``size`` first when given and different: class probabilities (``maps='softmax'``) or the
    logits themselves (``'logits'``, the reference code's)."""
    logits = logits.float()
    if size is not None and tuple(logits.shape[-2:]) != tuple(size):
        logits = F.interpolate(logits, size=size, mode='bilinear', align_corners=False)
    return logits.softmax(dim=1) if maps == 'softmax' else logits


@contextmanager
def running_batch_norm(module):
    """Its BatchNorm layers on their running statistics inside (and not updating them): each
    sample's critic value then depends on that sample alone."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    modes = [m.training for m in norms]
    for m in norms:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(norms, modes):
            m.train(mode)


def critic(discriminator, maps, img=None):
    """D's scores (N,) of ``maps``, conditioned on ``img`` when given."""
    return discriminator(maps) if img is None else discriminator(maps, img)


def gradient_penalty(discriminator, real, fake, img=None):
    """``E[(||grad_x D(x_hat)||_2 - 1)^2]`` with ``x_hat = e * fake + (1 - e) * real``, one
    ``e ~ U(0, 1)`` per sample; the norm is over all of a sample's map (not the image it is
    conditioned on). The graph is kept so the penalty trains D. A critic with BatchNorm is
    evaluated on its running statistics here (:func:`running_batch_norm`)."""
    e = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device,
                   dtype=real.dtype)
    x_hat = (e * fake.detach() + (1 - e) * real.detach()).requires_grad_(True)
    with running_batch_norm(discriminator):
        score = critic(discriminator, x_hat, img).sum()
    grad, = torch.autograd.grad(score, x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


@MODELS.register_module()
class HolisticAdversarialLoss(nn.Module):
    """WGAN-GP between the student's and the teacher's segmentation maps.

    The student's side (``forward``, the KD term): ``-adv_weight * E[D(S)]``. The discriminator's
    side (``discriminator_loss``, the distiller's D step)::

        L_D = E[D(S)] - E[D(T)] + gp_weight * E[(||grad D(x_hat)||_2 - 1)^2]      # Eqn. (3)

    S, T are the softmax maps (``maps='softmax'``) of the student's and teacher's decode-head
    logits (the teacher's resized to the student's H x W). The distiller owns the discriminator
    (``model.discriminator``) and passes it in: in the student's step as a function whose
    parameters take no gradient (``segmentation.frozen``), in D's step with the maps detached, so
    each side trains only its own network.

    With ``maps='logits'`` the critic reads the raw logits (the reference code's, for
    :class:`SKDReferenceDiscriminator`, which normalises them with BatchNorm); ``disc_weight``
    scales the whole of ``L_D``, penalty included (the reference code's 0.1: an effective penalty
    weight of 1 against the Wasserstein term's 0.1).

    Args:
        adv_weight (float): the student's adversarial weight. Defaults to 0.1 (SKD).
        gp_weight (float): the gradient penalty's weight. Defaults to 10 (WGAN-GP, SKD).
        maps (str): ``'softmax'`` (default) or ``'logits'``.
        disc_weight (float): the factor of the critic's loss. Defaults to 1.0.

    Example config term (the discriminator is ``model.discriminator``)::

        holistic=dict(loss=dict(type='mmkd.HolisticAdversarialLoss'),
                      inputs=['s_logits', 't_logits'])
    """

    #: the distiller calls it with its discriminator first and runs ``discriminator_loss``.
    adversarial = True

    def __init__(self, *, adv_weight=0.1, gp_weight=10.0, maps='softmax', disc_weight=1.0):
        super().__init__()
        check_choice('HolisticAdversarialLoss', 'maps', maps, MAPS)
        self.adv_weight = adv_weight
        self.gp_weight = gp_weight
        self.maps = maps
        self.disc_weight = disc_weight

    def forward(self, discriminator, s_logits, t_logits=None, img=None):
        """``-adv_weight * E[D(S)]``; ``t_logits`` is read only by ``discriminator_loss``."""
        s_maps = score_maps(s_logits, maps=self.maps)
        return -self.adv_weight * critic(discriminator, s_maps, img).mean()

    def discriminator_loss(self, discriminator, s_logits, t_logits, img=None):
        """The critic's loss and what to log.

        Returns:
            dict: ``loss_disc`` (L_D), ``disc_wasserstein`` (E[D(T)] - E[D(S)], the critic's
            estimate of the Wasserstein distance) and ``disc_gp`` (the penalty, unweighted).
        """
        s_maps = score_maps(s_logits.detach(), maps=self.maps)
        t_maps = score_maps(t_logits.detach(), s_maps.shape[-2:], self.maps)
        wasserstein = critic(discriminator, t_maps, img).mean() - \
            critic(discriminator, s_maps, img).mean()
        penalty = gradient_penalty(discriminator, t_maps, s_maps, img)
        return dict(loss_disc=self.disc_weight * (-wasserstein + self.gp_weight * penalty),
                    disc_wasserstein=wasserstein.detach(), disc_gp=penalty.detach())
