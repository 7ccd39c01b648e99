"""Class-weighted soft-label KD (Chen et al., "Learning Efficient Object Detection Models with
Knowledge Distillation", NeurIPS 2017, Eq. 3): ``L_soft = - sum_c w_c P_t log P_s`` with a larger
weight on the background class."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS
from .utils import check_positive, check_same_shape, reduce_rows


def weighted_soft_label(s_logits, t_logits, class_weights, background_weight=1.5,
                        temperature=1.0, use_sigmoid=False):
    """The per-row loss of :class:`WeightedSoftLabelKDLoss` (its formulas).

    Args:
        s_logits, t_logits (Tensor): (M, C) logits: K foreground classes and the background last
            (softmax), or K classes (sigmoid); no gradient reaches the teacher's.
        class_weights (Tensor): (K,) the foreground classes' weights.
        background_weight (float): the background's weight (sigmoid: the not-this-class part's).
        temperature (float): T.
        use_sigmoid (bool): the binary form per class instead of the softmax over C.

    Returns:
        Tensor: (M,) in float32.
    """
    T = temperature
    s = s_logits.float() / T
    t = t_logits.detach().float() / T
    w = class_weights.float()
    if use_sigmoid:
        p_t = t.sigmoid()
        loss = -(w * p_t * F.logsigmoid(s) + background_weight * (1 - p_t) * F.logsigmoid(-s))
    else:
        w = torch.cat([w, w.new_tensor([background_weight])])
        loss = -w * F.softmax(t, dim=1) * F.log_softmax(s, dim=1)
    return loss.sum(dim=1) * T ** 2


@MODELS.register_module()
class WeightedSoftLabelKDLoss(nn.Module):
    """Soft-label cross-entropy from the teacher with a weight per class.

    Softmax heads (``use_sigmoid=False``; mmdet's RCNN box head: K foreground classes and the
    background at the last index K)::

        row = - T^2 * sum_c w_c softmax(t / T)_c log softmax(s / T)_c

    with ``w_c = class_weights[c]`` (1 when not given) for the K foreground classes and
    ``w_K = background_weight``. Sigmoid heads (``use_sigmoid=True``; RetinaNet, RPN, FCOS: K
    logits, no background logit), per class the binary form, the background weight on the negative
    (not-this-class) part::

        row = - T^2 * sum_k [w_k p_t log p_s + background_weight (1 - p_t) log(1 - p_s)]

    ``p = sigmoid(z / T)``. ``T^2`` keeps the gradient's size independent of T (Hinton); with the
    paper's T = 1 it is 1. ``reduction='mean'`` gives ``loss_weight * sum(weight * rows) /
    (avg_factor or M)``.

    Args:
        class_weights (list[float], optional): K foreground weights. Defaults to all 1.
        background_weight (float): w_0 of the paper. Defaults to 1.5.
        temperature (float): T. Defaults to 1.0.
        loss_weight (float): 1 - mu of the paper (mu = 0.5). Defaults to 0.5.
        use_sigmoid (bool): Defaults to False.
        reduction (str): 'mean', 'sum' or 'none'. Defaults to 'mean'.
    """

    def __init__(self, *, class_weights=None, background_weight=1.5, temperature=1.0,
                 loss_weight=0.5, use_sigmoid=False, reduction='mean'):
        super().__init__()
        check_positive('WeightedSoftLabelKDLoss', temperature=temperature)
        self.class_weights = None if class_weights is None else list(class_weights)
        self.background_weight = background_weight
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.use_sigmoid = use_sigmoid
        self.reduction = reduction

    def _foreground_weights(self, num, ref):
        if self.class_weights is None:
            return ref.new_ones(num)
        if len(self.class_weights) != num:
            raise ValueError(f'WeightedSoftLabelKDLoss: class_weights has '
                             f'{len(self.class_weights)} values for {num} foreground classes.')
        return torch.tensor(self.class_weights, dtype=ref.dtype, device=ref.device)

    def rows(self, s_logits, t_logits):
        """(M,) per-row losses of (M, C) logits, in float32."""
        num = s_logits.shape[1] if self.use_sigmoid else s_logits.shape[1] - 1
        return weighted_soft_label(s_logits, t_logits,
                                   self._foreground_weights(num, s_logits.float()),
                                   self.background_weight, self.temperature, self.use_sigmoid)

    def forward(self, s_logits, t_logits, weight=None, avg_factor=None,
                reduction_override=None):
        """s_logits, t_logits: (M, C); weight: (M,). Returns a scalar (or (M,) with 'none')."""
        check_same_shape('WeightedSoftLabelKDLoss', s_logits, t_logits,
                         'Student and teacher must score the same rows and classes.')
        rows = self.rows(s_logits, t_logits)
        if weight is not None:
            if weight.numel() != rows.numel():
                raise ValueError(f'WeightedSoftLabelKDLoss: weight has {weight.numel()} values '
                                 f'for {rows.numel()} rows.')
            weight = weight.reshape(-1).float()
        return self.loss_weight * reduce_rows(rows, weight, reduction_override or self.reduction,
                                              avg_factor)
