"""DeFeat: Guo et al., "Distilling Object Detectors via Decoupled Features", CVPR 2021,
arXiv:2103.14475. Reference code: github.com/ggjy/DeFeat.pytorch (mmdet 1.x / 2.x).
"""
import torch.nn as nn

from mmkd.registry import MODELS
from mmkd.structures import gt_box_mask, level_assigned_box_masks
from .utils import check_choice, check_same_shape

ASSIGN = ('level', 'all')


def decoupled_feature(s_feats, t_feats, masks, fg_weight=3.0, bg_weight=12.0):
    """DeFeat's loss over levels, normalised as the reference code: the mean over the levels of
    ``w_fg * sum M (S - T)^2 / max(1, 2 C N_fg) + w_bg * sum (1 - M) (S - T)^2 / max(1, 2 C N_bg)``.

    Args:
        s_feats, t_feats (list[Tensor]): one (N, C, H_l, W_l) per level, the student's adapted;
            no gradient reaches the teacher's.
        masks (list[Tensor]): one (N, H_l, W_l) foreground mask per level (1 on foreground).
        fg_weight, bg_weight (float): w_fg, w_bg.

    Returns:
        Tensor: a scalar, in float32.
    """
    loss_fg = loss_bg = 0.
    for s, t, mask in zip(s_feats, t_feats, masks):
        C = t.shape[1]
        sq = (s.float() - t.detach().float()).pow(2).sum(dim=1)  # (N, H, W)
        loss_fg = loss_fg + (sq * mask).sum() / (2 * C * mask.sum()).clamp(min=1)
        loss_bg = loss_bg + (sq * (1 - mask)).sum() / (2 * C * (1 - mask).sum()).clamp(min=1)
    return (fg_weight * loss_fg + bg_weight * loss_bg) / len(masks)


@MODELS.register_module()
class DecoupledFeatureLoss(nn.Module):
    """Feature imitation with the foreground and background weighted apart, each normalised by
    its own size (Eq. 5 of the paper), normalised as the reference code does:

    ``loss = loss_weight * mean_l (w_fg * sum M_l (phi(S_l) - T_l)^2 / (2 C N_fg,l)
    + w_bg * sum (1 - M_l) (phi(S_l) - T_l)^2 / (2 C N_bg,l))``

    over the levels ``l`` the term reads (all at once, ``levels_at_once``). The sums run over the
    batch, the C channels and the cells; ``N_fg,l`` / ``N_bg,l`` count the batch's foreground /
    background cells of level l, and ``2 C N`` is at least 1 (a level without boxes gives its
    background term only). ``M_l`` depends on ``assign``:

    - ``'level'`` (default, the reference code's): each GT box is foreground on one level only,
      ``floor(log2(sqrt((w + 1)(h + 1)) / 56))`` clipped to the levels read
      (:func:`mmkd.structures.level_assigned_box_masks`);
    - ``'all'`` (mmkd's earlier rule): every box on every level, on the cells it covers
      (:func:`mmkd.structures.gt_box_mask`, FGD's cell rule).

    ``phi`` is the term's adapter; the paper's is a 3x3 conv initialised from N(0, 1e-4^2):
    ``adapter=dict(type='mmkd.ConvAdapter', kernel_size=3, always=True, init_std=1e-4)``.
    The reference code's COCO / VOC weights are ``w_fg=3``, ``w_bg=12``.

    Args:
        fg_weight (float): w_fg. Defaults to 3.0.
        bg_weight (float): w_bg. Defaults to 12.0.
        assign (str): ``'level'`` or ``'all'``, see above. Defaults to ``'level'``.
        loss_weight (float): Defaults to 1.0.

    Term: ``inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape']``.
    """

    levels_at_once = True

    def __init__(self, *, fg_weight=3.0, bg_weight=12.0, assign='level', loss_weight=1.0):
        super().__init__()
        check_choice('DecoupledFeatureLoss', 'assign', assign, ASSIGN)
        self.fg_weight, self.bg_weight = fg_weight, bg_weight
        self.assign = assign
        self.loss_weight = loss_weight

    def forward(self, s_feats, t_feats, gt_bboxes, input_shape):
        """s_feats, t_feats: a list of (N, C, H_l, W_l) per level, or one tensor (the student's
        already adapted); gt_bboxes a list of N (k_i, 4) x1y1x2y2 in pixels of the padded input of
        shape ``input_shape`` (H_in, W_in). Returns a scalar."""
        if not isinstance(s_feats, (list, tuple)):
            s_feats, t_feats = [s_feats], [t_feats]
        for s, t in zip(s_feats, t_feats):
            check_same_shape('DecoupledFeatureLoss', s, t,
                             "Give the term an adapter (the default adapter='auto' aligns them).")
        shapes = [tuple(t.shape[-2:]) for t in t_feats]
        if self.assign == 'level':
            masks = level_assigned_box_masks(gt_bboxes, tuple(input_shape), shapes)
        else:
            masks = [gt_box_mask(gt_bboxes, tuple(input_shape), hw) for hw in shapes]
        return self.loss_weight * decoupled_feature(s_feats, t_feats, masks, self.fg_weight,
                                                    self.bg_weight)
