"""FGFI: Wang et al., "Distilling Object Detectors with Fine-grained Feature Imitation", CVPR 2019,
arXiv:1906.03609. Reference code: github.com/twangnh/Distilling-Object-Detectors.
"""
import torch
import torch.nn as nn

from mmkd.registry import MODELS
from mmkd.structures import anchor_imitation_mask
from .utils import check_same_shape


def fine_grained_imitation(s_feats, t_feats, masks):
    """``sum_levels sum I (S - T)^2 / (2 N_p)``, the sum over the batch, channels and
    locations, ``N_p`` the imitated locations of all levels (at least 1).

    Args:
        s_feats, t_feats (list[Tensor]): one (N, C, H_l, W_l) per level, the student's adapted;
            no gradient reaches the teacher's.
        masks (list[Tensor]): the imitation mask I, one (N, H_l, W_l) per level.

    Returns:
        Tensor: a scalar, in float32.
    """
    total = sum(((s.float() - t.detach().float()).pow(2).sum(dim=1) * m).sum()
                for s, t, m in zip(s_feats, t_feats, masks))
    return total / (2 * sum(m.sum() for m in masks).clamp(min=1))


@MODELS.register_module()
class FineGrainedImitationLoss(nn.Module):
    """Feature imitation on the locations near objects (Eq. 4 of the paper):

    ``loss = loss_weight * sum_levels sum I (adapt(S) - T)^2 / (2 N_p)``

    ``I`` is the imitation mask (:func:`mmkd.structures.anchor_imitation_mask`): locations with an
    anchor whose IoU with a GT box exceeds ``thr_ratio`` times that box's best IoU over the anchors
    of all levels read; ``N_p`` is the number of imitated locations over the batch and levels (at
    least 1; no GT gives 0). The sum runs over channels too. For anchor-free students the
    distiller's ``priors`` are squares of side 8 x stride on the prior points (documented in
    ``docs/fgfi.md``). ``adapt`` is the term's adapter; the paper's is a 3x3 conv:
    ``adapter=dict(type='mmkd.ConvAdapter', kernel_size=3, always=True)``.

    The loss reads every level at once (``levels_at_once``): the mask compares anchors across
    levels.

    Args:
        thr_ratio (float): psi. Defaults to 0.5.
        loss_weight (float): lambda. Defaults to 0.01.

    Term: ``inputs=['s_neck', 't_neck', 'priors', 'gt_bboxes']``.
    """

    levels_at_once = True

    def __init__(self, *, thr_ratio=0.5, loss_weight=0.01):
        super().__init__()
        self.thr_ratio = thr_ratio
        self.loss_weight = loss_weight

    def forward(self, s_feats, t_feats, priors, gt_bboxes):
        """s_feats, t_feats: a list of (N, C, H_l, W_l) per level (or one tensor); priors: one
        (H_l*W_l*A, 4) per level (or one tensor); gt_bboxes: a list of N (k_i, 4). Returns a
        scalar."""
        if torch.is_tensor(s_feats):
            s_feats, t_feats, priors = [s_feats], [t_feats], [priors]
        for s, t in zip(s_feats, t_feats):
            check_same_shape('FineGrainedImitationLoss', s, t,
                             "Give the term an adapter (the default adapter='auto' aligns them).")
        masks = anchor_imitation_mask(priors, gt_bboxes, [t.shape[-2:] for t in t_feats],
                                      self.thr_ratio)
        return self.loss_weight * fine_grained_imitation(s_feats, t_feats, masks)
