"""Response-based KD on classification logits (Hinton et al., "Distilling the Knowledge in a
Neural Network", NIPS 2014 Deep Learning Workshop, arXiv:1503.02531), for dense detection heads.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS
from .utils import REDUCTIONS, check_positive, check_same_shape, soft_kl


def logit_kd(s_logits, t_logits, temperature=1.0, use_sigmoid=False):
    """Per-row distillation loss ``temperature^2 * KL(p_t || p_s)``.

    Args:
        s_logits (Tensor): (M, K) student logits.
        t_logits (Tensor): (M, K) teacher logits; no gradient reaches them.
        temperature (float): softens both distributions.
        use_sigmoid (bool): False: ``p = softmax(z / T)`` over the K classes. True: each class is
            its own Bernoulli ``p = sigmoid(z / T)`` (RetinaNet-style heads) and the row's KL is the
            sum over classes of the binary KL
            ``p_t log(p_t / p_s) + (1 - p_t) log((1 - p_t) / (1 - p_s))``.

    Returns:
        Tensor: (M,) the loss of each row, computed in float32.
    """
    if not use_sigmoid:
        return soft_kl(s_logits.float(), t_logits.float(), temperature, dim=-1)
    return sigmoid_kl(s_logits, t_logits, temperature).sum(dim=-1)


def sigmoid_kl(s_logits, t_logits, temperature=1.0, weight=None, reduction='none'):
    """The per-class binary KL ``T^2 * KL(p_t || p_s)`` of ``p = sigmoid(z / T)``: the
    sigmoid counterpart of :func:`mmkd.models.losses.utils.soft_kl`, T^2 included.

    With ``log(1 - sigmoid(x)) = logsigmoid(x) - x`` the binary KL is
    ``BCE(s, p_t) - H(p_t) = BCE(s, p_t) + logsigmoid(t) - (1 - p_t) t`` (s, t the logits over
    T): the student's part is one fused binary cross-entropy (its gradient
    ``sigmoid(s) - p_t``), the teacher's entropy a constant computed without a graph.
    ``weight`` (M,) weighs the rows; ``reduction`` 'none' gives (M, K), 'sum' a scalar.
    """
    s = s_logits.float()
    t = t_logits.detach().float()
    if temperature != 1:
        s, t = s / temperature, t / temperature
    with torch.no_grad():
        p_t = t.sigmoid()
        neg_entropy = F.logsigmoid(t) - (1 - p_t) * t
    w = None if weight is None else weight[:, None]
    bce = F.binary_cross_entropy_with_logits(s, p_t, weight=w, reduction=reduction)
    if reduction == 'sum':
        kl = bce + (neg_entropy.sum() if w is None else (neg_entropy * w).sum())
    else:
        kl = bce + (neg_entropy if w is None else neg_entropy * w)
    return kl * temperature ** 2


@MODELS.register_module()
class LogitKDLoss(nn.Module):
    """Hinton KD on classification logits, dense (per location) or per row.

    ``loss = loss_weight * sum_rows(w * T^2 * KL(p_t || p_s)) / (avg_factor or M)`` with the KL of
    :func:`logit_kd`. Dense head outputs (N, A*K, H, W) are read as mmdet lays them out (channel
    ``a * K + k``), giving M = N * H * W * A rows of K classes.

    Args:
        temperature (float): Defaults to 1.0 (Hinton's T; 1 in Chen et al. 2017).
        use_sigmoid (bool): per-class binary KL for sigmoid heads (RetinaNet, FCOS, ATSS, RPN);
            False for softmax heads. Defaults to True.
        num_anchors (int): A, anchors per location of a dense head (only changes how rows are
            counted for sigmoid heads; softmax needs it to find the class axis). Defaults to 1.
        loss_weight (float): Defaults to 1.0.
        reduction (str): 'mean', 'sum' or 'none'. Defaults to 'mean'.

    Example config terms (all anchors; positives of the student's assigner only)::

        cls=dict(loss=dict(type='mmkd.LogitKDLoss', temperature=2.0, num_anchors=9),
                 inputs=['s_cls_scores', 't_cls_scores'])
        cls_pos=dict(loss=dict(type='mmkd.LogitKDLoss', num_anchors=9),
                     inputs=['s_cls_scores', 't_cls_scores', 'pos_mask', 'num_pos'])

    Per-level inputs come all at once (``levels_at_once``): the result is the sum over the
    levels of each level's loss (each level's mean over its own rows), computed in one call.
    """

    levels_at_once = True

    def __init__(self, *, temperature=1.0, use_sigmoid=True, num_anchors=1, loss_weight=1.0,
                 reduction='mean'):
        super().__init__()
        check_positive('LogitKDLoss', temperature=temperature)
        self.temperature = temperature
        self.use_sigmoid = use_sigmoid
        self.num_anchors = num_anchors
        self.loss_weight = loss_weight
        self.reduction = reduction

    def _split(self, logits):
        """(N, A*K, H, W) -> N, A, K, H*W, checking that the channels split into A groups."""
        N, C, H, W = logits.shape
        if C % self.num_anchors:
            raise ValueError(f'LogitKDLoss: {C} channels do not split into num_anchors='
                             f'{self.num_anchors} groups')
        return N, self.num_anchors, C // self.num_anchors, H * W

    def _num_rows(self, logits):
        if logits.dim() == 2:
            return logits.shape[0]
        N, A, _, HW = self._split(logits)
        return N * HW * A

    def _rows(self, logits):
        """Every row: (M, K), M = N * H * W * A in mmdet's order (image, location, anchor)."""
        if logits.dim() == 2:
            return logits
        N, A, K, HW = self._split(logits)
        return logits.reshape(N, A, K, HW).permute(0, 3, 1, 2).reshape(N * HW * A, K)

    def _take(self, logits, rows):
        """``_rows(logits)[rows]`` without laying out the whole map first: row
        ``(n * H * W + hw) * A + a`` is ``logits[n, a * K:(a + 1) * K, hw]``."""
        if logits.dim() == 2:
            return logits[rows]
        N, A, K, HW = self._split(logits)
        location, a = rows // A, rows % A
        return logits.reshape(N, A, K, HW)[location // HW, a, :, location % HW]  # (P, K)

    def forward(self, s_logits, t_logits, weight=None, avg_factor=None, reduction_override=None):
        """s_logits, t_logits: (M, K) or (N, A*K, H, W), or lists of them (one per level);
        weight: M values in row order (a list with the levels), e.g. the distiller's
        ``pos_mask`` (N, H*W*A) to distil positives only (with ``num_pos`` as ``avg_factor``).
        Returns a scalar (or (M,) with reduction 'none', the levels' rows concatenated)."""
        if not isinstance(s_logits, (list, tuple)):  # one level
            s_logits, t_logits, weight = [s_logits], [t_logits], [weight]
        return self._levels(s_logits, t_logits, weight, avg_factor, reduction_override)

    def _levels(self, s_levels, t_levels, weights, avg_factor, reduction_override):
        """The sum over the levels of each level's loss, in one call: every level's rows
        weighted by ``w / (avg_factor or M_l)`` (``'mean'``), then one sum. Rows of weight 0
        add nothing and are not computed (a pos_mask keeps a few dozen of thousands of
        anchors); a mean still divides by all the level's rows."""
        reduction = reduction_override or self.reduction
        if reduction not in REDUCTIONS:
            raise ValueError(f'reduction={reduction!r}; use one of {REDUCTIONS}')
        weights = weights if weights is not None else [None] * len(s_levels)
        if len(t_levels) != len(s_levels) or len(weights) != len(s_levels):
            raise ValueError(f'LogitKDLoss: {len(s_levels)} student levels, {len(t_levels)} '
                             f'teacher levels and {len(weights)} weights')
        s_rows, t_rows, row_weights = [], [], []
        for s, t, w in zip(s_levels, t_levels, weights):
            check_same_shape('LogitKDLoss', s, t, 'Student and teacher heads must predict the '
                             'same anchors and classes.')
            M = self._num_rows(s)
            if w is not None and w.numel() != M:
                raise ValueError(f'LogitKDLoss: weight has {w.numel()} values for '
                                 f'{M} rows (num_anchors={self.num_anchors})')
            scale = 1.0
            if reduction == 'mean':
                scale = 1.0 / (max(float(avg_factor), torch.finfo(s.dtype).eps)
                               if avg_factor is not None else max(M, 1))
            if reduction == 'none' or w is None:
                s, t = self._rows(s), self._rows(t)
                w = s.new_full((M,), scale) if w is None else w.reshape(-1).to(s.dtype) * scale
            else:  # only the rows of nonzero weight, taken from the maps as they are
                keep = w.reshape(-1).nonzero().squeeze(1)
                if not len(keep):  # a level without them (most levels, for the positives)
                    continue
                w = w.reshape(-1)[keep].to(s.dtype) * scale
                s, t = self._take(s, keep), self._take(t, keep)
            s_rows.append(s)
            t_rows.append(t)
            row_weights.append(w)
        if not s_rows:  # no row kept: a zero that still back-propagates
            return self.loss_weight * s_levels[0].reshape(-1)[:0].float().sum()
        s, t, w = (torch.cat(x) if len(x) > 1 else x[0] for x in (s_rows, t_rows, row_weights))
        if reduction == 'none':
            return self.loss_weight * logit_kd(s, t, self.temperature, self.use_sigmoid) * w
        if self.use_sigmoid:
            total = sigmoid_kl(s, t, self.temperature, w, 'sum')
        else:
            total = (logit_kd(s, t, self.temperature, False) * w).sum()
        return self.loss_weight * total
