"""Similarity-preserving knowledge distillation (Tung & Mori, "Similarity-Preserving Knowledge
Distillation", ICCV 2019, arXiv:1907.09682).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS


def similarity_matrix(feats):
    """``G = normalize_rows(A A^T)``, A the (b, D) flattened features (Eqn. 2-3).

    Args:
        feats (Tensor): (b, ...) features, flattened to (b, D).

    Returns:
        Tensor: (b, b) with unit-L2 rows, float32 at least.
    """
    a = feats.flatten(1).to(torch.promote_types(feats.dtype, torch.float32))  # (b, D)
    return F.normalize(a @ a.t(), dim=1)


def similarity_preserving(s_feats, t_feats):
    """``||G_t - G_s||_F^2 / b^2`` (Eqn. 4, one layer pair).

    Args:
        s_feats (Tensor): (b, ...) student features; the feature sizes of the two may differ.
        t_feats (Tensor): (b, ...) teacher features; no gradient reaches them.

    Returns:
        Tensor: a scalar; zero (still back-propagating) for b = 0.
    """
    b = len(s_feats)
    if b == 0:
        return s_feats.sum() * 0
    diff = similarity_matrix(t_feats.detach()) - similarity_matrix(s_feats)  # (b, b)
    return diff.pow(2).sum() / b ** 2


@MODELS.register_module()
class SimilarityPreservingLoss(nn.Module):
    r"""SP: pairs of inputs that the teacher sees as similar should look similar to the student.

    .. math:: L_{sp} = \frac{\gamma}{b^2} \| G^t - G^s \|_F^2, \quad
              G = \mathrm{normalize\_rows}(A A^\top)

    A holds one flattened feature per row: the images of a batch in the paper; in mmkd, also the
    instances of a batch (``s_box_feats`` / ``t_box_feats``, ``s_region_feats`` /
    ``t_region_feats``). Channels need not match (``needs_adapter = False``).

    Args:
        loss_weight (float): gamma. Defaults to 3000 (the paper's CIFAR-10 setting).

    Example config term::

        sp=dict(loss=dict(type='mmkd.SimilarityPreservingLoss', loss_weight=3000.0),
                inputs=['s_box_feats', 't_box_feats'], levels=[0, 1])
    """

    needs_adapter = False

    def __init__(self, *, loss_weight=3000.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, s_feats, t_feats):
        """s_feats (b, ...), t_feats (b, ...) with the same b. Returns a scalar."""
        if len(s_feats) != len(t_feats):
            raise ValueError(f'SimilarityPreservingLoss: {len(s_feats)} student and '
                             f'{len(t_feats)} teacher rows; they must be the same inputs.')
        return self.loss_weight * similarity_preserving(s_feats, t_feats)
