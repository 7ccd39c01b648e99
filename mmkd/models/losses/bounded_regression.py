"""Teacher-bounded regression (Chen et al., "Learning Efficient Object Detection Models with
Knowledge Distillation", NeurIPS 2017, Eq. 4)."""
import torch.nn as nn

from mmkd.registry import MODELS
from .utils import check_same_shape, reduce_rows


def bounded_regression(s_reg, t_reg, target, weight=None, margin=0.0):
    """Per row: ``e_s = ||s - y||^2`` if ``e_s + margin > e_t`` (``e_t = ||t - y||^2``), else 0.

    Args:
        s_reg, t_reg, target (Tensor): (M, D) in the head's own target space; only ``s_reg``
            gets a gradient.
        weight (Tensor, optional): (M, D) per-coordinate weights, applied inside both squared
            errors (mmdet's ``bbox_weights``). A (M,) row weight is applied by the caller.
        margin (float): m.

    Returns:
        tuple[Tensor, Tensor]: (M,) row losses (float32) and the (M,) bool rows that count.
    """
    s = s_reg.float()
    y = target.detach().float()
    sq_s = (s - y).pow(2)
    sq_t = (t_reg.detach().float() - y).pow(2)
    if weight is not None:
        sq_s, sq_t = sq_s * weight, sq_t * weight
    e_s, e_t = sq_s.sum(dim=1), sq_t.sum(dim=1)
    active = (e_s + margin > e_t).detach()
    return e_s * active, active


@MODELS.register_module()
class TeacherBoundedRegressionLoss(nn.Module):
    """The teacher as an upper bound of the student's regression error.

    Per row (a positive location / RoI) ``e_s = ||s - y||^2`` and ``e_t = ||t - y||^2`` (sums over
    the D coordinates); the row contributes ``e_s`` if ``e_s + margin > e_t``, else 0: the student
    is pushed towards the target only where it is not already better than the teacher by the
    margin. ``reduction='mean'`` gives ``loss_weight * sum(rows) / (avg_factor or M)``, ``'sum'``
    the sum, ``'none'`` the rows (mmdet's contract). Paper: ``L_reg = smoothL1(R_s, y) + nu L_b``
    with nu = 0.5 (``loss_weight``) and m = 0; the smooth-L1 part is the student's own loss.

    Args:
        margin (float): m. Defaults to 0.0.
        loss_weight (float): nu. Defaults to 0.5.
        reduction (str): 'mean', 'sum' or 'none'. Defaults to 'mean'.

    Rows must be in the space the head regresses: encoded deltas for anchor heads (RetinaNet,
    RPN, the RCNN box head), distances for FCOS / ATSS, the distribution's integral for GFL. The
    distiller's head-target inputs give them so.
    """

    def __init__(self, *, margin=0.0, loss_weight=0.5, reduction='mean'):
        super().__init__()
        self.margin = margin
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, s_reg, t_reg, target, weight=None, avg_factor=None,
                reduction_override=None):
        """s_reg, t_reg, target (M, D); weight (M,) or (M, D). Returns a scalar (or (M,) with
        reduction 'none')."""
        for name, other in (('teacher', t_reg), ('target', target)):
            if other.shape != s_reg.shape:
                raise ValueError(f'TeacherBoundedRegressionLoss: student {tuple(s_reg.shape)} '
                                 f'and {name} {tuple(other.shape)} differ in shape; both are '
                                 '(M, D) rows in the head\'s target space.')
        row_weight = None
        if weight is not None:
            if weight.dim() == 2:
                check_same_shape('TeacherBoundedRegressionLoss (weight)', s_reg, weight,
                                 'weight is (M,) or (M, D).')
            elif weight.numel() != s_reg.shape[0]:
                raise ValueError(f'TeacherBoundedRegressionLoss: weight {tuple(weight.shape)} '
                                 f'for {s_reg.shape[0]} rows; weight is (M,) or (M, D).')
            else:
                row_weight = weight.float()
        rows, _ = bounded_regression(s_reg, t_reg, target,
                                     weight.float() if row_weight is None and weight is not None
                                     else None, self.margin)
        reduction = reduction_override or self.reduction
        return self.loss_weight * reduce_rows(rows, row_weight, reduction, avg_factor)
