"""LD: Zheng et al., "Localization Distillation for Dense Object Detection", CVPR 2022,
arXiv:2102.12252. Reference code: github.com/HikariTJU/LD (mmdet 2.x)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS
from mmkd.structures.bins import distances_to_bins, rebin_distribution  # noqa: F401
from .utils import check_choice, check_positive, check_same_shape, reduce_rows, soft_kl


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
        check_positive('LocalizationDistillationLoss', temperature=temperature)
        check_choice('LocalizationDistillationLoss', 'bin_reduction', bin_reduction,
                     BIN_REDUCTIONS)
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
