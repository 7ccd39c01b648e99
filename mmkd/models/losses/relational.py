"""Relational knowledge distillation (Park et al., "Relational Knowledge Distillation", CVPR 2019,
arXiv:1904.05068; reference code: lenscloth/RKD).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS


def _rows(feats):
    """(M, ...) -> (M, D) in float32 at least."""
    return feats.flatten(1).to(torch.promote_types(feats.dtype, torch.float32))


def distance_potential(feats):
    """``psi_D(i, j) = ||f_i - f_j||_2 / mu``, mu the mean distance over the pairs i != j.

    Args:
        feats (Tensor): (M, D) embeddings, M >= 2.

    Returns:
        Tensor: (M, M) normalised distances (0 on the diagonal).
    """
    dist = torch.cdist(feats, feats)  # (M, M)
    off = ~torch.eye(len(feats), dtype=torch.bool, device=feats.device)
    return dist / dist[off].mean().clamp(min=1e-12)


def angle_potential(feats):
    """``psi_A(i, j, k) = <e_ij, e_kj>``, ``e_ij = (f_i - f_j) / ||f_i - f_j||``: the cosine of
    the angle at vertex j.

    Args:
        feats (Tensor): (M, D) embeddings.

    Returns:
        Tensor: (M, M, M) indexed [j, i, k] (0 where i = j or k = j).
    """
    edges = F.normalize(feats[None, :, :] - feats[:, None, :], dim=2)  # (M_j, M_i, D) = e_ij
    return edges @ edges.transpose(1, 2)  # (M_j, M_i, M_k)


def relational_kd(s_feats, t_feats):
    """The distance-wise and angle-wise losses, Huber (smooth L1, delta 1) between the student's
    and the teacher's potentials: averaged over the ordered pairs i != j (Eqn. 5) and over the
    ordered triplets of distinct i, j, k (Eqn. 7). The reference code averages over all M^2 and
    M^3 entries, degenerate ones (zeros on both sides) included.

    Args:
        s_feats (Tensor): (M, ...) student embeddings, flattened to (M, D_s).
        t_feats (Tensor): (M, ...) teacher embeddings, (M, D_t); no gradient reaches them. D_s and
            D_t may differ: only relations are compared.

    Returns:
        tuple[Tensor, Tensor]: the distance-wise and the angle-wise loss, scalars; zero (still
        back-propagating) with fewer than 2 (distance) or 3 (angle) embeddings.
    """
    s, t = _rows(s_feats), _rows(t_feats.detach())
    M = len(s)
    zero = s.sum() * 0
    if M < 2:
        return zero, zero
    off = ~torch.eye(M, dtype=torch.bool, device=s.device)  # (M, M)
    loss_d = F.smooth_l1_loss(distance_potential(s)[off], distance_potential(t)[off])
    if M < 3:
        return loss_d, zero
    # distinct (j, i, k): i != j, k != j, i != k
    distinct = off[:, :, None] & off[:, None, :] & off[None, :, :]  # (M, M, M)
    loss_a = F.smooth_l1_loss(angle_potential(s)[distinct], angle_potential(t)[distinct])
    return loss_d, loss_a


@MODELS.register_module()
class RelationalKDLoss(nn.Module):
    r"""RKD: the student's embeddings keep the distances and angles among the teacher's.

    .. math:: L_{rkd} = w \big(\lambda_D \frac{1}{|P|}\sum_{(i,j)} l_\delta(\psi_D(s_i, s_j),
              \psi_D(t_i, t_j)) + \lambda_A \frac{1}{|T|}\sum_{(i,j,k)}
              l_\delta(\psi_A(s_i, s_j, s_k), \psi_A(t_i, t_j, t_k))\big)

    ``psi_D`` is the distance normalised by the batch's mean distance, ``psi_A`` the cosine of the
    angle at the middle point, ``l_delta`` the Huber loss (delta 1). The rows are instances of the
    batch: in mmkd, features pooled at the GT boxes (``s_box_feats`` / ``t_box_feats``) or at the
    GT regions of a segmentation (``s_region_feats`` / ``t_region_feats``), one call per level.
    Channels need not match (``needs_adapter = False``).

    Args:
        distance_weight (float): lambda_D. Defaults to 25 (the paper's metric-learning setting).
        angle_weight (float): lambda_A. Defaults to 50 (the paper).
        loss_weight (float): Defaults to 1.0.

    Example config term::

        rkd=dict(loss=dict(type='mmkd.RelationalKDLoss'),
                 inputs=['s_box_feats', 't_box_feats'], levels=[0, 1])
    """

    needs_adapter = False

    def __init__(self, *, distance_weight=25.0, angle_weight=50.0, loss_weight=1.0):
        super().__init__()
        self.distance_weight = distance_weight
        self.angle_weight = angle_weight
        self.loss_weight = loss_weight

    def forward(self, s_feats, t_feats):
        """s_feats (M, ...), t_feats (M, ...) with the same M. Returns a scalar."""
        if len(s_feats) != len(t_feats):
            raise ValueError(f'RelationalKDLoss: {len(s_feats)} student and {len(t_feats)} '
                             'teacher embeddings; the rows must be the same instances.')
        loss_d, loss_a = relational_kd(s_feats, t_feats)
        return self.loss_weight * (self.distance_weight * loss_d + self.angle_weight * loss_a)
