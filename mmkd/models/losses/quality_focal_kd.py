"""Quality-focal KD on classification logits: the classification term of CrossKD (Wang et al.,
"CrossKD: Cross-Head Knowledge Distillation for Object Detection", CVPR 2024, arXiv:2306.11369;
reference code github.com/jbwang1997/CrossKD, ``KDQualityFocalLoss``). Generalized Focal Loss's
quality focal loss (Li et al., NeurIPS 2020) with the teacher's sigmoid scores as the soft
targets.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS
from .utils import REDUCTIONS, check_same_shape, reduce_rows


def quality_focal_kd(s_logits, t_logits, beta=1.0):
    r"""Per-element ``BCE(s, p_t) * |sigmoid(s) - p_t|^beta``, ``p_t = sigmoid(t)``.

    .. math:: \ell_{mk} = -\big(p^t_{mk} \log \sigma(s_{mk}) + (1 - p^t_{mk})
              \log(1 - \sigma(s_{mk}))\big) \, |\sigma(s_{mk}) - p^t_{mk}|^\beta

    0 where the student's score equals the teacher's. No gradient reaches ``t_logits``.

    Args:
        s_logits, t_logits (Tensor): (M, K) logits of sigmoid classifiers.
        beta (float): the focusing exponent; 0 gives the plain binary cross-entropy with the
            teacher's scores as soft targets.

    Returns:
        Tensor: (M, K), in float32 (float64 for float64 inputs).
    """
    dtype = torch.promote_types(s_logits.dtype, torch.float32)
    s = s_logits.to(dtype)
    p_t = t_logits.detach().to(dtype).sigmoid()
    bce = F.binary_cross_entropy_with_logits(s, p_t, reduction='none')
    if beta == 0:
        return bce
    return bce * (s.sigmoid() - p_t).abs().pow(beta)


@MODELS.register_module()
class QualityFocalKDLoss(nn.Module):
    r"""Quality-focal KD: the student's sigmoid scores learn the teacher's, each class a binary
    cross-entropy weighted by how far the two scores are apart (CrossKD's classification term).

    .. math:: L = \frac{w}{A} \sum_{m} \omega_m \sum_k \mathrm{BCE}(s_{mk}, \sigma(t_{mk}))
              \, |\sigma(s_{mk}) - \sigma(t_{mk})|^\beta

    with ``omega`` the row weights and ``A`` the divisor (``avg_factor``; the number of rows
    without one). CrossKD's reference reduction: every prior of every level, the head's label
    weights as ``omega`` (1 for the valid anchors), the number of positives of the student's
    assignment as ``A`` (the divisor of the head's own classification loss), the levels summed.

    Args:
        beta (float): Defaults to 1.0 (the reference code's default and every config's); 0
            gives the binary cross-entropy with the teacher's scores as soft targets (CrossKD's
            ATSS centerness term: mmdet's sigmoid ``CrossEntropyLoss`` on the teacher's
            centerness scores).
        loss_weight (float): Defaults to 1.0 (CrossKD's GFL, RetinaNet and ATSS configs; 0.4
            for FCOS).
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.

    Term (CrossKD, with the cross-head logits): ``inputs=['s_cross_cls_rows', 't_cls_rows',
    'cls_row_weights', 'cls_avg_factor']``.
    """

    def __init__(self, *, beta=1.0, loss_weight=1.0, reduction='mean'):
        super().__init__()
        if not beta >= 0:
            raise ValueError(f'QualityFocalKDLoss: beta={beta} must be >= 0')
        if reduction not in REDUCTIONS:
            raise ValueError(f'QualityFocalKDLoss: reduction={reduction!r}; use one of '
                             f'{REDUCTIONS}.')
        self.beta = beta
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, s_logits, t_logits, weight=None, avg_factor=None):
        """s_logits, t_logits: (M, K); weight: (M,) or None; avg_factor: the divisor of the
        'mean' reduction. Returns a scalar ((M,) with reduction 'none')."""
        check_same_shape('QualityFocalKDLoss', s_logits, t_logits,
                         'the two sides must score the same priors for the same classes.')
        if s_logits.dim() != 2:
            raise ValueError(f'QualityFocalKDLoss: give (M, K) rows of logits; got a tensor of '
                             f'shape {tuple(s_logits.shape)}.')
        rows = quality_focal_kd(s_logits, t_logits, self.beta).sum(dim=1)
        return self.loss_weight * reduce_rows(rows, weight, self.reduction, avg_factor)
