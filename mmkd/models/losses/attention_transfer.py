"""Attention transfer (Zagoruyko & Komodakis, "Paying More Attention to Attention: Improving the
Performance of Convolutional Neural Networks via Attention Transfer", ICLR 2017,
arXiv:1612.03928; reference code: szagoruyko/attention-transfer).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS
from .utils import check_positive


def spatial_attention(feats, p=2.0, size=None):
    """``Q = sum_c |F_c|^p``, flattened and L2-normalised per sample.

    Args:
        feats (Tensor): (N, C, H, W) features.
        p (float): the exponent. Defaults to 2 (the paper's choice).
        size (tuple, optional): (H', W') to resize the map to (bilinear) before normalising,
            when student and teacher maps differ in resolution.

    Returns:
        Tensor: (N, H*W) (or (N, H'*W')) unit-norm rows, float32 at least.
    """
    dtype = torch.promote_types(feats.dtype, torch.float32)
    att = feats.to(dtype).abs().pow(p).sum(dim=1, keepdim=True)  # (N, 1, H, W)
    if size is not None and tuple(att.shape[-2:]) != tuple(size):
        att = F.interpolate(att, size=size, mode='bilinear', align_corners=False)
    return F.normalize(att.flatten(1), dim=1)  # (N, HW)


def attention_transfer(s_feats, t_feats, p=2.0):
    """Per-sample ``|| Q_s / ||Q_s|| - Q_t / ||Q_t|| ||_2`` (Eqn. 2 of the paper, one level).

    The channels of the two may differ (the sum over channels removes them); the student's map is
    resized to the teacher's H x W when they differ.

    Args:
        s_feats (Tensor): (N, C_s, H_s, W_s) student features.
        t_feats (Tensor): (N, C_t, H, W) teacher features; no gradient reaches them.

    Returns:
        Tensor: (N,) distances, each in [0, 2].
    """
    t_att = spatial_attention(t_feats.detach(), p)  # (N, HW)
    s_att = spatial_attention(s_feats, p, size=t_feats.shape[-2:])  # (N, HW)
    return (s_att - t_att).norm(dim=1)


@MODELS.register_module()
class AttentionTransferLoss(nn.Module):
    r"""AT: the student's spatial attention maps imitate the teacher's.

    .. math:: L_{at} = w \frac{1}{N} \sum_n \Big\| \frac{Q^s_n}{\|Q^s_n\|_2} -
              \frac{Q^t_n}{\|Q^t_n\|_2} \Big\|_2, \quad Q = \sum_c |F_c|^p

    One call is one level (the distiller sums the levels a term reads, as the paper sums its
    block groups). ``loss_weight`` is the paper's beta / 2. The paper's beta = 1000 belongs to
    its reference code, which takes the mean of the squared differences over H*W instead of the
    norm (a value about 1 / (H*W) as large); with the norm, as written in the paper and here,
    ``loss_weight`` of order 1-10 balances a detector's task loss (``docs/attention_transfer.md``).
    Channels need not match and no adapter is built (``needs_adapter = False``); a student map of
    another resolution is resized to the teacher's.

    Args:
        p (float): the exponent of ``|F|``. Defaults to 2 (the paper).
        loss_weight (float): Defaults to 1.0.

    Example config term::

        at=dict(loss=dict(type='mmkd.AttentionTransferLoss', loss_weight=5.0),
                inputs=['s_neck', 't_neck'], levels=[0, 1])
    """

    needs_adapter = False

    def __init__(self, *, p=2.0, loss_weight=1.0):
        super().__init__()
        check_positive('AttentionTransferLoss', p=p)
        self.p = p
        self.loss_weight = loss_weight

    def forward(self, s_feats, t_feats):
        """s_feats (N, C_s, H_s, W_s), t_feats (N, C_t, H, W). Returns a scalar."""
        if s_feats.dim() != 4 or t_feats.dim() != 4 or len(s_feats) != len(t_feats):
            raise ValueError('AttentionTransferLoss: needs (N, C, H, W) student and teacher '
                             f'features of the same batch; got {tuple(s_feats.shape)} and '
                             f'{tuple(t_feats.shape)}.')
        return self.loss_weight * attention_transfer(s_feats, t_feats, self.p).mean()
