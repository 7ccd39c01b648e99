"""The reduction contract of mmdet's losses, shared by mmkd's losses."""
import torch

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


def check_same_shape(term, s_tensor, t_tensor, hint):
    """Raises a ValueError naming both shapes when a student and teacher tensor differ."""
    if s_tensor.shape != t_tensor.shape:
        raise ValueError(f'{term}: student tensor {tuple(s_tensor.shape)} and teacher tensor '
                         f'{tuple(t_tensor.shape)} differ in shape. {hint}')
