"""What mmkd's losses share: the reduction contract of mmdet's losses, the temperature-scaled
KL divergence, and the checks of arguments and shapes."""
import torch
import torch.nn.functional as F

REDUCTIONS = ('none', 'mean', 'sum')


def reduce_rows(rows, weight=None, reduction='mean', avg_factor=None):
    """Reduces per-row losses ``rows`` (M,) like mmdet's ``weight_reduce_loss``.

    ``'mean'`` divides the (weighted) sum by ``avg_factor`` when given, else by M (at least 1, so
    an empty batch gives a zero that still back-propagates).
    """
    if reduction not in REDUCTIONS:
        raise ValueError(f'reduction={reduction!r}; use one of {REDUCTIONS}')
    if weight is not None:
        rows = rows * weight
    if reduction == 'none':
        return rows
    if reduction == 'sum':
        return rows.sum()
    denominator = avg_factor if avg_factor is not None else max(rows.numel(), 1)
    return rows.sum() / (torch.as_tensor(denominator, dtype=rows.dtype, device=rows.device)
                         .clamp(min=torch.finfo(rows.dtype).eps))


def check_positive(loss, **values):
    """Raises a ValueError naming the argument of ``loss`` (its class name) that is not > 0."""
    for name, value in values.items():
        if not value > 0:
            raise ValueError(f'{loss}: {name}={value} must be > 0')


def check_choice(loss, name, value, choices):
    """Raises a ValueError naming the argument ``name`` of ``loss`` and the values it takes."""
    if value not in choices:
        raise ValueError(f'{loss}: {name}={value!r}; use one of {choices}.')


def resize_to(t_map, s_map):
    """``t_map`` (N, C', h', w') resized bilinearly (``align_corners=False``, as mmseg resizes
    its logits) to the H x W of ``s_map`` (N, C, H, W); itself when they are equal."""
    if t_map.shape[-2:] == s_map.shape[-2:]:
        return t_map
    return F.interpolate(t_map, size=tuple(s_map.shape[-2:]), mode='bilinear',
                         align_corners=False)


def check_same_shape(term, s_tensor, t_tensor, hint):
    """Raises a ValueError naming both shapes when a student and teacher tensor differ."""
    if s_tensor.shape != t_tensor.shape:
        raise ValueError(f'{term}: student tensor {tuple(s_tensor.shape)} and teacher tensor '
                         f'{tuple(t_tensor.shape)} differ in shape. {hint}')


def soft_kl(s_logits, t_logits, temperature, dim):
    r"""The temperature-scaled KL divergence of Hinton et al. (2015), teacher to student, along
    ``dim``:

    .. math:: T^2 \sum_k p^t_k (\log p^t_k - \log p^s_k), \quad
              p = \mathrm{softmax}(z / T) \text{ along } dim

    The :math:`T^2` keeps the gradient's size independent of ``T``. No gradient reaches
    ``t_logits``; classes the teacher gives no mass (its softmax underflows to 0) add nothing.

    Args:
        s_logits (Tensor): student logits, any shape.
        t_logits (Tensor): teacher logits of the same shape.
        temperature (float): T, softens both distributions.
        dim (int): the dimension the distributions are over; it is summed away.

    Returns:
        Tensor: the input's shape without ``dim``, in float32 (float64 for float64 inputs: half
        precision is too coarse for the log-softmax).
    """
    dtype = torch.promote_types(s_logits.dtype, torch.float32)
    s_logits, t_logits = s_logits.to(dtype), t_logits.detach().to(dtype)
    if temperature != 1:
        s_logits, t_logits = s_logits / temperature, t_logits / temperature
    log_p_s = F.log_softmax(s_logits, dim=dim)
    # a class of teacher logit -inf has log p_t = -inf: made the lowest finite value, its
    # p_t (0) times the difference is 0, not 0 * inf = nan; one operation on the teacher's side
    # instead of a mask the student's gradient would go through
    log_p_t = F.log_softmax(t_logits, dim=dim).clamp_(min=torch.finfo(dtype).min)
    kl = log_p_t.exp() * (log_p_t - log_p_s)
    return kl.sum(dim=dim) * temperature ** 2
