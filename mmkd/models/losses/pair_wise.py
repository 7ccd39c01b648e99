"""Pair-wise distillation of Liu et al., "Structured Knowledge Distillation for Semantic
Segmentation", CVPR 2019, arXiv:1903.04197 (reference code: irfanICMLL/
structure_knowledge_distillation, ``CriterionPairWiseforWholeFeatAfterPool``).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS
from .utils import reduce_rows, resize_to


def node_affinity(nodes):
    """Cosine similarity of every pair of nodes: (N, C, h, w) -> (N, hw, hw)."""
    N, C = nodes.shape[:2]
    f = F.normalize(nodes.reshape(N, C, -1), dim=1, eps=1e-8)  # (N, C, hw)
    return f.transpose(1, 2) @ f  # (N, hw, hw)


def pair_wise_kd(s_feat, t_feat, pool_scale=0.5):
    """Per-sample ``sum_ij (a_ij^s - a_ij^t)^2 / (h w)^2`` on max-pooled nodes.

    Args:
        s_feat (Tensor): (N, C_s, H, W) student feature.
        t_feat (Tensor): (N, C_t, H', W') teacher feature, resized bilinearly
            (align_corners=False) to H x W when the sizes differ; no gradient reaches it.
        pool_scale (float): a node's window as a fraction of the map's H and W.

    Returns:
        Tensor: (N,) the loss of each sample, in float32 (float64 for float64 inputs).
    """
    dtype = torch.promote_types(s_feat.dtype, torch.float32)
    s = s_feat.to(dtype)
    t = resize_to(t_feat.detach().to(dtype), s)
    H, W = s.shape[-2:]
    kernel = (max(int(H * pool_scale), 1), max(int(W * pool_scale), 1))
    # ceil_mode keeps the partial windows at the bottom / right edge as nodes of their own.
    a_s, a_t = (node_affinity(F.max_pool2d(x, kernel, kernel, ceil_mode=True)) for x in (s, t))
    hw = a_s.shape[-1]
    return (a_s - a_t).pow(2).sum(dim=(1, 2)) / hw ** 2


@MODELS.register_module()
class PairWiseKDLoss(nn.Module):
    r"""SKD's pair-wise term: the similarity of every pair of feature nodes, teacher to student.

    .. math:: L_{pa} = w \frac{1}{N} \sum_n \frac{1}{(h w)^2} \sum_{i, j} (a_{ij}^s - a_{ij}^t)^2,
              \quad a_{ij} = \frac{f_i^\top f_j}{\|f_i\|_2 \|f_j\|_2}

    where the h x w nodes f_i are the feature max-pooled with kernel = stride =
    ``(int(H * pool_scale), int(W * pool_scale))`` (ceil mode). The affinities are h*w x h*w
    whatever the channels, so student and teacher may differ in C and the distiller adds no
    adapter (``needs_adapter = False``); a teacher feature of another H x W is resized
    bilinearly to the student's. The gradient flows through the L2 normalisation, whereas the
    reference code detaches the norm.

    Args:
        pool_scale (float): Defaults to 0.5 (the reference code's run script).
        loss_weight (float): Defaults to 1.0 (the reference code's run script).

    Example config term::

        pair=dict(loss=dict(type='mmkd.PairWiseKDLoss'),
                  inputs=['s_decode_feat', 't_decode_feat'])
    """

    needs_adapter = False

    def __init__(self, *, pool_scale=0.5, loss_weight=1.0):
        super().__init__()
        if not 0 < pool_scale <= 1:
            raise ValueError(f'PairWiseKDLoss: pool_scale={pool_scale} must be in (0, 1]')
        self.pool_scale = pool_scale
        self.loss_weight = loss_weight

    def forward(self, s_feat, t_feat):
        """s_feat: (N, C_s, H, W); t_feat: (N, C_t, H', W'). Returns a scalar."""
        if s_feat.dim() != 4 or t_feat.dim() != 4 or s_feat.shape[0] != t_feat.shape[0]:
            raise ValueError(f'PairWiseKDLoss: student feature {tuple(s_feat.shape)} and teacher '
                             f'feature {tuple(t_feat.shape)} must be (N, C, H, W) with the same '
                             'N; C and H x W may differ.')
        return self.loss_weight * reduce_rows(pair_wise_kd(s_feat, t_feat, self.pool_scale))
