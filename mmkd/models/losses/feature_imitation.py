"""Feature imitation with a hint (Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015,
arXiv:1412.6550; used on detector necks by Chen et al., NeurIPS 2017, ``L_hint = ||V - Z||^2``).
"""
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS
from .utils import check_same_shape


def feature_imitation(s_feat, t_feat):
    """Per-sample squared error. s_feat, t_feat: (N, C, H, W). Returns (N, C*H*W)."""
    N = s_feat.shape[0]
    return (s_feat.float() - t_feat.detach().float()).pow(2).reshape(N, -1)


@MODELS.register_module()
class FeatureImitationLoss(nn.Module):
    """Hint loss between an (adapted) student feature and the teacher feature.

    ``loss = loss_weight * sum (s - t)^2 / numel`` with reduction 'mean' (the mean squared error
    over every element), or the plain sum with 'sum'. The distiller aligns the student's channels
    and H x W to the teacher's with an adapter before this loss sees them (``adapter`` in the term).

    Args:
        loss_weight (float): Defaults to 1.0 (gamma = 0.5 in Chen et al. 2017).
        reduction (str): 'mean' or 'sum'. Defaults to 'mean'.

    Example config term::

        hint=dict(loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=1.0),
                  inputs=['s_neck', 't_neck'], levels=[0, 1, 2])
    """

    def __init__(self, *, loss_weight=1.0, reduction='mean'):
        super().__init__()
        if reduction not in ('mean', 'sum'):
            raise ValueError(f'FeatureImitationLoss: reduction={reduction!r}; use mean or sum')
        self.loss_weight = loss_weight
        self.reduction = reduction

    def forward(self, s_feat, t_feat):
        """s_feat, t_feat: (N, C, H, W). Returns a scalar."""
        check_same_shape('FeatureImitationLoss', s_feat, t_feat,
                         'Give the term an adapter (the default `adapter=\'auto\'` aligns them).')
        # the mean (or sum) of feature_imitation's rows in one fused op, forward and backward
        return self.loss_weight * F.mse_loss(s_feat.float(), t_feat.detach().float(),
                                             reduction=self.reduction)
