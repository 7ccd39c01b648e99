"""PKD: Cao et al., "PKD: General Distillation Framework for Object Detectors via Pearson
Correlation Coefficient", NeurIPS 2022, arXiv:2207.02039. Reference code: MMRazor 1.x
(``mmrazor/models/losses/pkd_loss.py``, ``configs/distill/mmdet/pkd``).
"""
import torch
import torch.nn as nn

from mmkd.registry import MODELS
from .utils import check_positive, check_same_shape


def channel_standardise(feat, eps=1e-6):
    """Each channel to zero mean and unit standard deviation over (N, H, W).

    ``(x - mean_c) / (std_c + eps)``, ``std_c`` the unbiased (N H W - 1) standard deviation, as
    in the reference code. A constant channel (or a single position, N = H = W = 1) becomes 0
    everywhere with a zero gradient; in the reference code its gradient is NaN (0 / 0 in the
    standard deviation's backward), and a single position's unbiased estimate too.

    Args:
        feat (Tensor): (N, C, H, W).

    Returns:
        Tensor: (N, C, H, W).
    """
    N, C, H, W = feat.shape
    count = N * H * W
    mean = feat.mean(dim=(0, 2, 3), keepdim=True)  # (1, C, 1, 1)
    centred = feat - mean
    var = centred.pow(2).sum(dim=(0, 2, 3), keepdim=True) / max(count - 1, 1)
    # a zero variance means every centred value is 0; a divisor of 1 there keeps away from
    # sqrt's infinite slope at 0, and the mask makes the channel's gradient 0 as well (a
    # perturbation of a constant channel has no direction the standardised map could take)
    varies = var > 0
    std = torch.where(varies, var, torch.ones_like(var)).sqrt()
    return centred / (std + eps) * varies


def pearson_kd(s_feat, t_feat, eps=1e-6):
    """``MSE(standardise(s), standardise(t)) / 2`` over every element (paper Eq. 4).

    With M = N H W positions per channel and r_c the Pearson correlation of channel c over them,
    this is ``(M - 1) / M * mean_c (1 - r_c)`` (up to ``eps``): 0 for a student equal to the
    teacher up to a positive scale and shift per channel, 1 for uncorrelated channels.

    Args:
        s_feat, t_feat (Tensor): (N, C, H, W).

    Returns:
        Tensor: a scalar.
    """
    diff = channel_standardise(s_feat, eps) - channel_standardise(t_feat.detach(), eps)
    return diff.pow(2).mean() / 2


@MODELS.register_module()
class PKDLoss(nn.Module):
    r"""PKD: feature imitation on per-channel standardised maps (the Pearson correlation).

    .. math:: L_{pkd} = \frac{w}{2 N C H W} \sum_{n,c,h,w} \big(\hat F^s_{nchw} -
              \hat F^t_{nchw}\big)^2, \quad \hat F_{nchw} = \frac{F_{nchw} - \mu_c}{\sigma_c +
              10^{-6}}

    with ``mu_c``, ``sigma_c`` the mean and unbiased standard deviation of channel c over the
    batch and the positions. A per-level term sums the levels' losses, each with this weight, as
    MMRazor's configs do with one loss per level.

    The student's features reach the loss through the term's adapter (a 1x1 conv where the
    channels differ, a bilinear resize to the teacher's H x W where they differ); the reference
    code has no channel adapter and resizes bilinearly.

    Args:
        loss_weight (float): Defaults to 1.0 (MMRazor's class default). The reference configs
            use 10 per FPN level for RetinaNet and 6 for Faster R-CNN, both on the first four
            neck outputs.
        eps (float): added to the standard deviation. Defaults to 1e-6 (reference code).

    Term: ``inputs=['s_neck', 't_neck'], levels=[0, 1, 2, 3]``.
    """

    def __init__(self, *, loss_weight=1.0, eps=1e-6):
        super().__init__()
        check_positive('PKDLoss', eps=eps)
        self.loss_weight = loss_weight
        self.eps = eps

    def forward(self, s_feat, t_feat):
        """s_feat, t_feat: (N, C, H, W). Returns a scalar."""
        check_same_shape('PKDLoss', s_feat, t_feat,
                         'PKD standardises channel c of each side and compares them position by '
                         "position; give the term an adapter (adapter='auto').")
        return self.loss_weight * pearson_kd(s_feat, t_feat, self.eps)
