"""BCKD's localization term: the student's box at every prior learns the teacher's box there, by
IoU, weighted by how far apart the two classifiers' scores are (Yang et al., "Bridging
Cross-task Protocol Inconsistency for Distillation in Dense Object Detection", ICCV 2023,
arXiv:2308.14286; reference code github.com/TinyTigerPan/BCKD, mmdet 2.28, ``LDHead``).

BCKD's classification term, the binary classification distillation, is the quality-focal KD of
:class:`mmkd.QualityFocalKDLoss` (beta 1) on the student's own logits: docs/bckd.md.
"""
import torch
import torch.nn as nn
from mmdet.structures.bbox import bbox_overlaps

from mmkd.registry import MODELS
from .utils import REDUCTIONS, check_choice, check_same_shape, reduce_rows

IOU_MODES = ('giou', 'iou')


def score_gap_weights(s_logits, t_logits, weight=None):
    r"""BCKD's weight of each prior's box term, without gradient:

    .. math:: w_m = \omega_m \max_k |\sigma(s_{mk}) - \sigma(t_{mk})|

    Args:
        s_logits, t_logits (Tensor): (M, K) logits of sigmoid classifiers.
        weight (Tensor | None): (M,) row weights ``omega`` (the head's label weights).

    Returns:
        Tensor: (M,).
    """
    with torch.no_grad():
        gap = (s_logits.float().sigmoid() - t_logits.float().sigmoid()).abs().max(dim=1).values
        return gap if weight is None else gap * weight


def iou_kd(s_boxes, t_boxes, mode='giou', eps=1e-6):
    """Per-prior ``1 - GIoU`` (or ``1 - IoU``) of the student's box with the teacher's, (M,); no
    gradient reaches ``t_boxes``.

    Args:
        s_boxes, t_boxes (Tensor): (M, 4) x1y1x2y2 boxes in the same units.
        mode (str): 'giou' (the reference config's mmdet GIoULoss) or 'iou' (the paper's text).
        eps (float): mmdet's ``bbox_overlaps`` guard, 1e-6 as in its GIoULoss.
    """
    dtype = torch.promote_types(s_boxes.dtype, torch.float32)
    if not len(s_boxes):  # mmdet's bbox_overlaps returns a new tensor, off the graph
        return s_boxes.to(dtype).sum(dim=1)
    return 1 - bbox_overlaps(s_boxes.to(dtype), t_boxes.detach().to(dtype), mode=mode,
                             is_aligned=True, eps=eps)


@MODELS.register_module()
class BCKDLocalizationLoss(nn.Module):
    r"""BCKD's IoU-based localization distillation.

    .. math:: L = \frac{\lambda}{A} \sum_m w_m \big(1 - \mathrm{GIoU}(b^s_m, b^t_m)\big),
              \qquad w_m = \omega_m \max_k |\sigma(s_{mk}) - \sigma(t_{mk})|

    over every prior ``m`` of every level: ``b^s`` / ``b^t`` the boxes the student's / teacher's
    heads decode there, ``s`` / ``t`` their classification logits, ``omega`` the head's label
    weights (1 for the valid priors), ``A`` the divisor (``avg_factor``): the reference divides by
    the number of positives of the student's assignment (the divisor of the head's own
    classification loss), level by level with the same number, so the levels add up to one sum.
    The weight carries no gradient; the teacher's boxes none.

    Args:
        mode (str): 'giou' (default: the reference config's ``GIoULoss``) or 'iou'.
        loss_weight (float): Defaults to 4.0 (the reference GFL R101 -> R50 config).
        reduction (str): 'none', 'mean' or 'sum'. Defaults to 'mean'.

    Term: ``inputs=['s_boxes', 't_boxes', 's_cls_rows', 't_cls_rows', 'cls_row_weights',
    'cls_avg_factor']``.
    """

    def __init__(self, *, mode='giou', loss_weight=4.0, reduction='mean'):
        super().__init__()
        check_choice('BCKDLocalizationLoss', 'mode', mode, IOU_MODES)
        check_choice('BCKDLocalizationLoss', 'reduction', reduction, REDUCTIONS)
        self.mode = mode
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, s_boxes, t_boxes, s_logits, t_logits, weight=None, avg_factor=None):
        """s_boxes, t_boxes: (M, 4); s_logits, t_logits: (M, K); weight: (M,) or None;
        avg_factor: the divisor of the 'mean' reduction. Returns a scalar ((M,) with 'none')."""
        check_same_shape('BCKDLocalizationLoss', s_boxes, t_boxes,
                         'the two sides must give a box at the same priors.')
        check_same_shape('BCKDLocalizationLoss', s_logits, t_logits,
                         'the two sides must score the same priors for the same classes.')
        if s_boxes.dim() != 2 or s_boxes.shape[1] != 4 or s_logits.shape[0] != len(s_boxes):
            raise ValueError(
                f'BCKDLocalizationLoss: give (M, 4) boxes and (M, K) logits of the same M '
                f'priors; got boxes {tuple(s_boxes.shape)} and logits {tuple(s_logits.shape)}.')
        rows = iou_kd(s_boxes, t_boxes, self.mode)
        weights = score_gap_weights(s_logits, t_logits, weight)
        return self.loss_weight * reduce_rows(rows, weights, self.reduction, avg_factor)
