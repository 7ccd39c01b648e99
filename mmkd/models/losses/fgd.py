"""FGD: Yang et al., "Focal and Global Knowledge Distillation for Detectors", CVPR 2022,
arXiv:2111.11837. Reference code: github.com/yzd-v/FGD (mmdet 2.x).
"""
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS
from mmkd.structures import fg_bg_masks
from mmkd.structures.masks import CELL_RULES
from .utils import check_choice


def fgd_attention(feat, temperature):
    """Spatial and channel attention of a feature map (paper Sec. 3.2).

    ``A_S = H*W * softmax_HW(mean_C |F| / T)``, ``A_C = C * softmax_C(mean_HW |F| / T)``.

    Args:
        feat (Tensor): (N, C, H, W).

    Returns:
        tuple[Tensor, Tensor]: (N, H, W) spatial and (N, C) channel attention.
    """
    N, C, H, W = feat.shape
    value = feat.abs()
    spatial = H * W * F.softmax((value.mean(dim=1) / temperature).reshape(N, -1), dim=1)
    channel = C * F.softmax(value.mean(dim=(2, 3)) / temperature, dim=1)
    return spatial.reshape(N, H, W), channel


def focal_global_distillation(s_feat, t_feat, fg, bg, context_delta, temperature, alpha,
                              beta, gamma, lam):
    """FGD's loss of one level (paper Sec. 3), every term divided by the batch size N:
    ``alpha L_fg + beta L_bg + gamma L_at + lam L_global`` (see :class:`FGDLoss`).

    Args:
        s_feat, t_feat (Tensor): (N, C, H, W), the student's already aligned to C channels.
        fg, bg (Tensor): (N, H, W) foreground / background masks.
        context_delta (Tensor): (N, C), the teacher's context block's added context minus the
            student's: ``GC_t(F_t) - GC_s(F_s) = (F_t - F_s) + delta`` at every cell.
        temperature (float): of the attention softmax.
        alpha, beta, gamma, lam (float): the term weights.

    Returns:
        Tensor: a scalar.
    """
    N = s_feat.shape[0]
    s_spatial, s_channel = fgd_attention(s_feat, temperature)
    t_spatial, t_channel = fgd_attention(t_feat, temperature)
    diff = t_feat - s_feat
    diff_sq = diff.pow(2)
    # sum_C A_C (t - s)^2 per cell, then the fg and bg sums weighted by A_S and the masks
    sq = (diff_sq * t_channel[:, :, None, None]).sum(dim=1) * t_spatial
    loss_fg = (sq * fg).sum() / N
    loss_bg = (sq * bg).sum() / N
    loss_at = ((s_channel - t_channel).abs().sum() + (s_spatial - t_spatial).abs().sum()) / N
    # sum (diff + delta)^2 = sum diff^2 + 2 sum_nc delta sum_HW diff + HW sum delta^2 (exact,
    # without building either context block's output map)
    H, W = t_feat.shape[-2:]
    loss_global = (diff_sq.sum() + 2 * (context_delta * diff.sum(dim=(2, 3))).sum() +
                   H * W * context_delta.pow(2).sum()) / N
    return alpha * loss_fg + beta * loss_bg + gamma * loss_at + lam * loss_global


class ContextBlock(nn.Module):
    """GCNet's global context block as FGD uses it: ``x + transform(sum_HW softmax(mask(x)) x)``,
    mask a 1x1 conv C->1, transform = 1x1 conv C->C/2, LayerNorm, ReLU, 1x1 conv C/2->C (the last
    zero-initialised). The transform acts on one C-vector per sample, so its 1x1 convs are
    written as linear layers, and the mask conv as a weighted channel sum (the same functions,
    cheaper on CPU)."""

    def __init__(self, channels):
        super().__init__()
        self.conv_mask = nn.Conv2d(channels, 1, kernel_size=1)
        self.transform = nn.Sequential(
            nn.Linear(channels, channels // 2), nn.LayerNorm(channels // 2),
            nn.ReLU(inplace=True), nn.Linear(channels // 2, channels))
        nn.init.kaiming_normal_(self.conv_mask.weight, mode='fan_in')
        nn.init.zeros_(self.conv_mask.bias)
        nn.init.zeros_(self.transform[-1].weight)
        nn.init.zeros_(self.transform[-1].bias)

    def added_context(self, x):
        """The (N, C) vector the block adds at every position of ``x`` (N, C, H, W)."""
        N, C, H, W = x.shape
        flat = x.reshape(N, C, H * W)
        logits = (flat * self.conv_mask.weight.reshape(1, C, 1)).sum(dim=1)
        weights = F.softmax(logits + self.conv_mask.bias, dim=1)  # (N, HW)
        return self.transform((flat * weights[:, None]).sum(dim=2))

    def forward(self, x):
        return x + self.added_context(x)[:, :, None, None]


@MODELS.register_module()
class FGDLoss(nn.Module):
    """Focal and global distillation of one feature level.

    ``loss = loss_weight * (alpha * L_fg + beta * L_bg + gamma * L_at + lambda * L_global)``
    with, attention ``A_S``, ``A_C`` from the teacher (:func:`fgd_attention`), masks from the GT
    boxes (:func:`mmkd.structures.fg_bg_masks`) and every term divided by the batch size N:

    - ``L_fg = sum M_fg A_S A_C (F_t - f(F_s))^2``, ``L_bg`` alike with ``M_bg`` (focal loss);
    - ``L_at = sum |A_C^s - A_C^t| + sum |A_S^s - A_S^t|`` (attention loss, L1 sums);
    - ``L_global = sum (GC_t(F_t) - GC_s(f(F_s)))^2`` with a GCNet context block per side, trained
      with the student (global loss, Sec. 3.3).

    ``M_fg`` follows the reference code's cells by default (``cells='reference'``: a box covers
    cells ``floor(x1 / s)`` to ``ceil(x2 / s)`` inclusive, one row and column more than it
    overlaps, and its value is 1 / that count); ``cells='covered'`` takes only the cells the box
    overlaps (:func:`mmkd.structures.box_cell_ranges`). Either way the boxes are placed by the
    stride of the padded input, where the reference code scales them by the unpadded image size
    (its masks drift on padded batches; ``docs/fgd.md``).

    ``f`` is a 1x1 conv, only when the channel counts differ. Defaults are the paper's for
    RetinaNet-style one-stage detectors except ``gamma`` (5e-4 for RetinaNet / GFL in the reference
    configs); two-stage detectors use alpha 5e-5, beta 2.5e-5, gamma 5e-5, lambda 5e-7.

    Args:
        student_channels (int), teacher_channels (int): channels of the two features.
        temperature (float): of the attention softmax. Defaults to 0.5.
        alpha_fgd, beta_fgd, gamma_fgd, lambda_fgd (float): the term weights.
        cells (str): ``'reference'`` (default) or ``'covered'``, see above.
        loss_weight (float): Defaults to 1.0.

    The 1x1 alignment is part of FGD, so the distiller adds no adapter of its own
    (``needs_adapter = False``); each level gets its own copy of the loss (alignment and context
    blocks).

    Term: ``inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape']``.
    """

    needs_adapter = False

    def __init__(self, *, student_channels, teacher_channels, temperature=0.5, alpha_fgd=1e-3,
                 beta_fgd=5e-4, gamma_fgd=1e-3, lambda_fgd=5e-6, cells='reference',
                 loss_weight=1.0):
        super().__init__()
        check_choice('FGDLoss', 'cells', cells, CELL_RULES)
        self.cells = cells
        self.student_channels, self.teacher_channels = student_channels, teacher_channels
        self.temperature = temperature
        self.alpha_fgd, self.beta_fgd = alpha_fgd, beta_fgd
        self.gamma_fgd, self.lambda_fgd = gamma_fgd, lambda_fgd
        self.loss_weight = loss_weight
        self.align = (nn.Conv2d(student_channels, teacher_channels, kernel_size=1)
                      if student_channels != teacher_channels else nn.Identity())
        self.student_context = ContextBlock(teacher_channels)
        self.teacher_context = ContextBlock(teacher_channels)

    def forward(self, s_feat, t_feat, gt_bboxes, input_shape):
        """s_feat (N, Cs, H, W), t_feat (N, Ct, H, W), gt_bboxes a list of N (k_i, 4) x1y1x2y2 in
        pixels of the padded input, input_shape its (H_in, W_in). Returns a scalar."""
        s_feat = self.align(s_feat.float())
        t_feat = t_feat.detach().float()
        if s_feat.shape != t_feat.shape:
            raise ValueError(f'FGDLoss: student {tuple(s_feat.shape)} and teacher '
                             f'{tuple(t_feat.shape)} differ after the channel alignment; they '
                             'must share H x W.')
        fg, bg = fg_bg_masks(gt_bboxes, tuple(input_shape), t_feat.shape[-2:],
                             self.cells)  # (N, H, W)
        delta = self.teacher_context.added_context(t_feat) - \
            self.student_context.added_context(s_feat)
        return self.loss_weight * focal_global_distillation(
            s_feat, t_feat, fg, bg, delta, self.temperature, self.alpha_fgd, self.beta_fgd,
            self.gamma_fgd, self.lambda_fgd)
