"""MGD: Yang et al., "Masked Generative Distillation", ECCV 2022, arXiv:2205.01529. Reference code:
github.com/yzd-v/MGD (``det/mmdet/distillation/losses/mgd.py``, mmdet 2.x; the same loss in
``seg/`` and ``cls/``).
"""
import torch
import torch.nn as nn

from mmkd.registry import MODELS
from .utils import check_positive


def random_keep_mask(feat, mask_ratio):
    """A (N, 1, H, W) mask of 0 / 1 for ``feat`` (N, C, H, W): each position is 0 with
    probability ``mask_ratio``, the same for all its channels (paper Eq. 1)."""
    N, _, H, W = feat.shape
    draw = torch.rand((N, 1, H, W), device=feat.device)
    return (draw <= 1 - mask_ratio).to(feat.dtype)


def masked_generation(s_feat, t_feat, keep, generation):
    """``sum (G(s * keep) - t)^2 / N`` (paper Eq. 2 and 3, the reference code's normalisation:
    summed over channels and positions, averaged over the images).

    Args:
        s_feat (Tensor): (N, C, H, W), the student's feature with the teacher's channels.
        t_feat (Tensor): (N, C, H, W), no gradient reaches it.
        keep (Tensor): (N, 1, H, W) 0 / 1, the positions the student keeps.
        generation (nn.Module): maps (N, C, H, W) to (N, C, H, W).

    Returns:
        Tensor: a scalar.
    """
    return generation_error(generation(s_feat * keep), t_feat)


def generation_error(generated, t_feat):
    """``sum (generated - t)^2 / N``: the squared error summed over channels and positions,
    averaged over the N images; no gradient reaches ``t_feat``."""
    return (generated - t_feat.detach()).pow(2).sum() / generated.shape[0]


@MODELS.register_module()
class MGDLoss(nn.Module):
    r"""Masked generative distillation of one feature level.

    .. math:: L_{mgd} = w \, \alpha \frac{1}{N} \sum_{n,c,h,w} \big(\mathcal{G}(f_{align}(F^s)
              \cdot M)_{nchw} - F^t_{nchw}\big)^2, \quad M_{n,h,w} \sim \mathrm{Bernoulli}(1 -
              \lambda)

    ``f_align`` is a 1x1 conv, only when the channel counts differ; the generation block
    ``G = conv3x3 -> ReLU -> conv3x3`` (teacher channels, PyTorch's default initialisation, as in
    the reference code) is trained with the student and dropped after training. A new mask is
    drawn at every call (from torch's global generator, so a seeded run repeats).

    Args:
        student_channels (int), teacher_channels (int): channels of the two features.
        alpha_mgd (float): Defaults to 2e-5 (paper, one-stage detectors and segmentation; the
            reference Faster R-CNN configs use 5e-7).
        lambda_mgd (float): the share of positions masked. Defaults to 0.65 (paper, detection;
            0.75 for segmentation, 0.45 in the reference Faster R-CNN configs).
        loss_weight (float): Defaults to 1.0.

    The 1x1 alignment is part of MGD, so the distiller adds no adapter of its own
    (``needs_adapter = False``), and each level gets its own copy of the loss (alignment and
    generation block), as the reference configs build one loss per level.

    Term: ``inputs=['s_neck', 't_neck']``.
    """

    needs_adapter = False

    def __init__(self, *, student_channels, teacher_channels, alpha_mgd=2e-5, lambda_mgd=0.65,
                 loss_weight=1.0):
        super().__init__()
        check_positive('MGDLoss', student_channels=student_channels,
                       teacher_channels=teacher_channels, alpha_mgd=alpha_mgd)
        if not 0 <= lambda_mgd < 1:
            raise ValueError(f'MGDLoss: lambda_mgd={lambda_mgd} is the share of positions '
                             'masked; use a value in [0, 1).')
        self.student_channels, self.teacher_channels = student_channels, teacher_channels
        self.alpha_mgd, self.lambda_mgd = alpha_mgd, lambda_mgd
        self.loss_weight = loss_weight
        self.align = (nn.Conv2d(student_channels, teacher_channels, kernel_size=1)
                      if student_channels != teacher_channels else nn.Identity())
        self.generation = nn.Sequential(
            nn.Conv2d(teacher_channels, teacher_channels, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(teacher_channels, teacher_channels, kernel_size=3, padding=1))

    def forward(self, s_feat, t_feat, keep=None):
        """s_feat (N, Cs, H, W), t_feat (N, Ct, H, W); ``keep`` (N, 1, H, W) replaces the random
        mask (tests). Returns a scalar."""
        s_feat = self.align(s_feat)
        if s_feat.shape != t_feat.shape:
            raise ValueError(
                f'MGDLoss: student {tuple(s_feat.shape)} and teacher {tuple(t_feat.shape)} differ '
                'after the channel alignment; MGD generates the teacher\'s feature at the same '
                'H x W, so pair levels of the same stride (the term\'s levels).')
        if keep is None:
            keep = random_keep_mask(s_feat, self.lambda_mgd)
        return self.loss_weight * self.alpha_mgd * masked_generation(
            s_feat, t_feat, keep, self.generation)
