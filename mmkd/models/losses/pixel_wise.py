"""Pixel-wise distillation of Liu et al., "Structured Knowledge Distillation for Semantic
Segmentation", CVPR 2019, arXiv:1903.04197 (reference code: irfanICMLL/
structure_knowledge_distillation, ``CriterionPixelWise``).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS
from .utils import check_choice, check_positive, reduce_rows, resize_to, soft_kl


def pixel_wise_kd(s_logits, t_logits, temperature=1.0):
    """Per-pixel ``temperature^2 * KL(p_t || p_s)`` with ``p = softmax(logits / T)`` over C.

    Args:
        s_logits (Tensor): (N, C, H, W) student class logits.
        t_logits (Tensor): (N, C, H', W') teacher class logits, resized bilinearly
            (align_corners=False) to H x W when the sizes differ; no gradient reaches them.
        temperature (float): softens both distributions.

    Returns:
        Tensor: (N, H, W) the loss of each pixel, in float32 (float64 for float64 inputs).
    """
    # Half precision goes up to float32 before the resize too; float64 stays (gradcheck).
    t = t_logits.detach().to(torch.promote_types(s_logits.dtype, torch.float32))
    return soft_kl(s_logits, resize_to(t, s_logits), temperature, dim=1)  # over the C classes of each pixel


NORMALIZE = ('image', 'pixels')


@MODELS.register_module()
class PixelWiseKDLoss(nn.Module):
    r"""SKD's pixel-wise term: each pixel's class distribution, teacher to student.

    .. math:: L_{pi} = w \, T^2 \frac{1}{h w} \sum_{n} \sum_{i \in V_n} KL(q_i^t \| q_i^s),
              \quad q = \mathrm{softmax}(z / T) \text{ over the C classes}

    with ``normalize='image'`` (default): summed over the valid pixels V of every image of the
    batch and divided by the h x w of the student's logits only, as the reference code
    (``CriterionPixelWise``) does; the term therefore grows with the batch per GPU (the paper's
    weight 10 was tuned for 8 images on one GPU). ``normalize='pixels'`` divides by |V|, the
    valid pixels of the batch, instead (a mean, independent of the batch size). The reference
    code sums the cross-entropy ``-q^t log q^s``, the KL plus the teacher's entropy: the same
    gradient, a value larger by that constant. It also distils ignored pixels; give
    ``valid_mask`` to leave them out.

    Args:
        temperature (float): Defaults to 1.0 (the paper uses no temperature).
        loss_weight (float): Defaults to 10.0 (SKD's weight of the pixel-wise term).
        normalize (str): ``'image'`` (default) or ``'pixels'``, see above.

    Example config term::

        pixel=dict(loss=dict(type='mmkd.PixelWiseKDLoss', loss_weight=10.0),
                   inputs=['s_logits', 't_logits', 'valid_mask'])
    """

    def __init__(self, *, temperature=1.0, loss_weight=10.0, normalize='image'):
        super().__init__()
        check_positive('PixelWiseKDLoss', temperature=temperature)
        check_choice('PixelWiseKDLoss', 'normalize', normalize, NORMALIZE)
        self.temperature = temperature
        self.loss_weight = loss_weight
        self.normalize = normalize

    def forward(self, s_logits, t_logits, valid_mask=None):
        """s_logits: (N, C, H, W); t_logits: (N, C, H', W'); valid_mask: optional bool
        (N, H'', W''), True where a pixel counts (e.g. ``gt_sem_seg != ignore_index``), resized
        nearest to H x W. Returns a scalar: a zero that still back-propagates if no pixel counts."""
        if s_logits.dim() != 4 or t_logits.dim() != 4 or s_logits.shape[:2] != t_logits.shape[:2]:
            raise ValueError(f'PixelWiseKDLoss: student logits {tuple(s_logits.shape)} and teacher '
                             f'logits {tuple(t_logits.shape)} must be (N, C, H, W) with the same N '
                             'and C (images and classes); only H x W may differ.')
        kl = pixel_wise_kd(s_logits, t_logits, self.temperature)  # (N, H, W)
        if valid_mask is not None:
            if valid_mask.dim() != 3 or valid_mask.shape[0] != kl.shape[0]:
                raise ValueError(f'PixelWiseKDLoss: valid_mask {tuple(valid_mask.shape)} must be '
                                 f'(N, H, W) with N = {kl.shape[0]} like the logits.')
            if valid_mask.shape[-2:] != kl.shape[-2:]:
                valid_mask = F.interpolate(valid_mask[:, None].float(), size=kl.shape[-2:],
                                           mode='nearest')[:, 0]
            kl = kl[valid_mask.bool()]
        kl = kl.reshape(-1)
        if self.normalize == 'image':
            H, W = s_logits.shape[-2:]
            return self.loss_weight * kl.sum() / (H * W)
        return self.loss_weight * reduce_rows(kl)
