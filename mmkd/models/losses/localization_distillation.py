"""LD: Zheng et al., "Localization Distillation for Dense Object Detection", CVPR 2022,
arXiv:2102.12252. Reference code: github.com/HikariTJU/LD (mmdet 2.x)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS
from .utils import check_same_shape, reduce_rows, soft_kl


def distances_to_bins(distances, reg_max, sigma=None):
    """Soft bin targets for continuous edge distances, so that a teacher that regresses offsets
    (RetinaNet, FCOS, ATSS) can teach a student that classifies each edge over ``reg_max + 1``
    bins (GFL).

    Each distance ``d`` (in the student's stride units) is clamped to ``[0, reg_max]`` and spread
    over the two nearest bins, ``floor(d)`` with weight ``1 - frac(d)`` and ``floor(d) + 1`` with
    weight ``frac(d)`` (GFL's own DFL target); ``d = reg_max`` puts everything on the last bin.
    With ``sigma``, a Gaussian ``exp(-(i - d)^2 / (2 sigma^2))`` over the bins i, normalised,
    instead.

    Args:
        distances (Tensor): (M, 4) left, top, right, bottom.
        reg_max (int): the last bin index; n = reg_max + 1 bins.
        sigma (float, optional): the Gaussian's width in bins.

    Returns:
        Tensor: (M * 4, reg_max + 1) probabilities, one row per edge (rows of a box together).
    """
    d = distances.detach().float().reshape(-1).clamp(0, reg_max)
    bins = torch.arange(reg_max + 1, device=d.device, dtype=d.dtype)
    if sigma is not None:
        return F.softmax(-(bins[None] - d[:, None]).pow(2) / (2 * sigma ** 2), dim=1)
    left = d.floor().clamp(max=reg_max - 1)
    w_right = d - left
    probs = d.new_zeros(len(d), reg_max + 1)
    rows = torch.arange(len(d), device=d.device)
    probs[rows, left.long()] = 1 - w_right
    probs[rows, left.long() + 1] = w_right
    return probs


def rebin_distribution(probs, reg_max):
    """Moves edge distributions over ``n_t`` bins (a teacher with ``reg_max = n_t - 1``) onto
    ``reg_max + 1`` bins: bin j sits at distance j stride units on both sides, so its mass goes to
    the student's bins by :func:`distances_to_bins` of j (the same bin when it exists, the last
    bin beyond it).

    Args:
        probs (Tensor): (M, n_t) probabilities.
        reg_max (int): the student's.

    Returns:
        Tensor: (M, reg_max + 1).
    """
    positions = torch.arange(probs.shape[1], device=probs.device, dtype=torch.float32)
    moves = distances_to_bins(positions[:, None].expand(-1, 4), reg_max)[::4]  # (n_t, n_s)
    return probs.float() @ moves


BIN_REDUCTIONS = ('mean', 'sum')


def localization_distillation(s_logits, t_logits, temperature=10.0, bin_reduction='mean'):
    """LD's loss of each box edge: ``T^2 KL(softmax(t / T) || softmax(s / T))`` over its n bins,
    averaged over the bins (``'mean'``, the reference code's) or summed (``'sum'``).

    Args:
        s_logits, t_logits (Tensor): (M, n) bin logits, one row per edge; no gradient reaches the
            teacher's.
        temperature (float): T.
        bin_reduction (str): ``'mean'`` or ``'sum'``.

    Returns:
        Tensor: (M,) in float32.
    """
    rows = soft_kl(s_logits.float(), t_logits.float(), temperature, dim=1)
    return rows / s_logits.shape[1] if bin_reduction == 'mean' else rows


@MODELS.register_module()
class LocalizationDistillationLoss(nn.Module):
    """Distils the distribution of each box edge over its bins.

    Per row (one edge): ``T^2 * KL(softmax(t / T) || softmax(s / T))``, the KL averaged over the n
    bins (``bin_reduction='mean'``, as the reference code's ``KnowledgeDistillationKLDivLoss``
    does) or summed (``'sum'``, n times more). ``reduction='mean'``:
    ``loss_weight * sum(weight * rows) / (avg_factor or M)``, where a term that passes no
    ``avg_factor`` gets the one fixed in the config.

    The reference code's main region (HikariTJU/LD, mmdet's ``LDHead``) is ``loss_weight=0.25``,
    ``T=10``, the bins averaged, ``weight`` the student's largest class score and a fixed
    ``avg_factor=4`` (the four edges), never divided by the sum of the weights:
    ``0.25 * T^2 * sum_pos w * mean_bins KL / 4``.

    A teacher given as probabilities (:func:`distances_to_bins`) enters as ``t_logits = log p``
    (zero-probability bins stay zero at any temperature).

    Args:
        temperature (float): T. Defaults to 10.0.
        loss_weight (float): Defaults to 0.25.
        reduction (str): 'mean', 'sum' or 'none'. Defaults to 'mean'.
        bin_reduction (str): 'mean' (default, the reference code's) or 'sum' over the bins.
        avg_factor (float, optional): the divisor of ``reduction='mean'`` when the term passes
            none (the reference code's 4.0); None divides by the number of rows.
    """

    def __init__(self, *, temperature=10.0, loss_weight=0.25, reduction='mean',
                 bin_reduction='mean', avg_factor=None):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'LocalizationDistillationLoss: temperature={temperature} must be '
                             '> 0')
        if bin_reduction not in BIN_REDUCTIONS:
            raise ValueError(f'LocalizationDistillationLoss: bin_reduction={bin_reduction!r}; '
                             f'use one of {BIN_REDUCTIONS}.')
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.reduction = reduction
        self.bin_reduction = bin_reduction
        self.avg_factor = avg_factor

    def forward(self, s_logits, t_logits, weight=None, avg_factor=None,
                reduction_override=None):
        """s_logits, t_logits: (M, n) bin logits, one row per edge; weight (M,)."""
        check_same_shape('LocalizationDistillationLoss', s_logits, t_logits,
                         'Both give one row of n = reg_max + 1 bin logits per box edge; re-bin a '
                         'teacher with another reg_max first.')
        rows = localization_distillation(s_logits, t_logits, self.temperature,
                                         self.bin_reduction)
        if weight is not None:
            if weight.numel() != rows.numel():
                raise ValueError(f'LocalizationDistillationLoss: weight has {weight.numel()} '
                                 f'values for {rows.numel()} rows (one per box edge).')
            weight = weight.reshape(-1).float()
        if avg_factor is None:
            avg_factor = self.avg_factor
        return self.loss_weight * reduce_rows(rows, weight, reduction_override or self.reduction,
                                              avg_factor)
