"""SKD's holistic term: adversarial KD with a Wasserstein critic and gradient penalty (Liu et al.,
"Structured Knowledge Distillation for Semantic Segmentation", CVPR 2019, arXiv:1903.04197,
Sec. 3.2, Eqn. (3); WGAN-GP: Gulrajani et al., "Improved Training of Wasserstein GANs", NeurIPS
2017, arXiv:1704.00028, Eqn. (3))."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS


def score_maps(logits, size=None):
    """Class probabilities (N, C, H, W) of segmentation logits, in float32, resized bilinearly to
    ``size`` first when given and different."""
    logits = logits.float()
    if size is not None and tuple(logits.shape[-2:]) != tuple(size):
        logits = F.interpolate(logits, size=size, mode='bilinear', align_corners=False)
    return logits.softmax(dim=1)


def critic(discriminator, maps, img=None):
    """D's scores (N,) of ``maps``, conditioned on ``img`` when given."""
    return discriminator(maps) if img is None else discriminator(maps, img)


def gradient_penalty(discriminator, real, fake, img=None):
    """``E[(||grad_x D(x_hat)||_2 - 1)^2]`` with ``x_hat = e * fake + (1 - e) * real``, one
    ``e ~ U(0, 1)`` per sample; the norm is over all of a sample's map (not the image it is
    conditioned on). The graph is kept so the penalty trains D."""
    e = torch.rand(real.shape[0], *([1] * (real.dim() - 1)), device=real.device,
                   dtype=real.dtype)
    x_hat = (e * fake.detach() + (1 - e) * real.detach()).requires_grad_(True)
    grad, = torch.autograd.grad(critic(discriminator, x_hat, img).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


@MODELS.register_module()
class HolisticAdversarialLoss(nn.Module):
    """WGAN-GP between the student's and the teacher's segmentation maps.

    The student's side (``forward``, the KD term): ``-adv_weight * E[D(S)]``. The discriminator's
    side (``discriminator_loss``, the distiller's D step)::

        L_D = E[D(S)] - E[D(T)] + gp_weight * E[(||grad D(x_hat)||_2 - 1)^2]      # Eqn. (3)

    S, T are the softmax maps of the student's and teacher's decode-head logits (the teacher's
    resized to the student's H x W). The distiller owns the discriminator (``model.discriminator``)
    and passes it in; in the student's step it carries no gradient, and in D's step the maps are
    detached, so each side trains only its own network.

    Args:
        adv_weight (float): the student's adversarial weight. Defaults to 0.1 (SKD).
        gp_weight (float): the gradient penalty's weight. Defaults to 10 (WGAN-GP, SKD).

    Example config term (the discriminator is ``model.discriminator``)::

        holistic=dict(loss=dict(type='mmkd.HolisticAdversarialLoss'),
                      inputs=['s_logits', 't_logits'])
    """

    #: the distiller calls it with its discriminator first and runs ``discriminator_loss``.
    adversarial = True

    def __init__(self, *, adv_weight=0.1, gp_weight=10.0):
        super().__init__()
        self.adv_weight = adv_weight
        self.gp_weight = gp_weight

    def forward(self, discriminator, s_logits, t_logits=None, img=None):
        """``-adv_weight * E[D(S)]``; ``t_logits`` is read only by ``discriminator_loss``."""
        s_maps = score_maps(s_logits)
        return -self.adv_weight * critic(discriminator, s_maps, img).mean()

    def discriminator_loss(self, discriminator, s_logits, t_logits, img=None):
        """The critic's loss and what to log.

        Returns:
            dict: ``loss_disc`` (L_D), ``disc_wasserstein`` (E[D(T)] - E[D(S)], the critic's
            estimate of the Wasserstein distance) and ``disc_gp`` (the penalty, unweighted).
        """
        s_maps = score_maps(s_logits.detach())
        t_maps = score_maps(t_logits.detach(), s_maps.shape[-2:])
        wasserstein = critic(discriminator, t_maps, img).mean() - \
            critic(discriminator, s_maps, img).mean()
        penalty = gradient_penalty(discriminator, t_maps, s_maps, img)
        return dict(loss_disc=-wasserstein + self.gp_weight * penalty,
                    disc_wasserstein=wasserstein.detach(), disc_gp=penalty.detach())
