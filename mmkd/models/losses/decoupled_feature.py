"""DeFeat: Guo et al., "Distilling Object Detectors via Decoupled Features", CVPR 2021,
arXiv:2103.14475. Reference code: github.com/ggjy/DeFeat.pytorch (mmdet 1.x / 2.x).
"""
import torch.nn as nn

from mmkd.registry import MODELS
from mmkd.structures import gt_box_mask
from .utils import check_same_shape


@MODELS.register_module()
class DecoupledFeatureLoss(nn.Module):
    """Feature imitation with the foreground and background weighted apart, each normalised by
    its own number of cells (Eq. 5 of the paper):

    ``loss = loss_weight * (w_fg * sum M (phi(S) - T)^2 / (2 N_fg)
    + w_bg * sum (1 - M) (phi(S) - T)^2 / (2 N_bg))``

    ``M`` is 1 on the cells any GT box covers (:func:`mmkd.structures.gt_box_mask`, the same cell
    rule as FGD), the sums run over the batch, channels and cells, and ``N_fg`` / ``N_bg`` count the
    batch's foreground / background cells (at least 1: an image without boxes gives the background
    term only). ``phi`` is the term's adapter; the paper's is a 3x3 conv initialised from
    N(0, 1e-4^2): ``adapter=dict(type='mmkd.ConvAdapter', kernel_size=3, always=True,
    init_std=1e-4)``. The paper's VOC defaults are ``w_fg=3``, ``w_bg=12``.

    Args:
        fg_weight (float): w_fg. Defaults to 3.0.
        bg_weight (float): w_bg. Defaults to 12.0.
        loss_weight (float): Defaults to 1.0.

    Term: ``inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape']``.
    """

    def __init__(self, fg_weight=3.0, bg_weight=12.0, loss_weight=1.0):
        super().__init__()
        self.fg_weight, self.bg_weight = fg_weight, bg_weight
        self.loss_weight = loss_weight

    def forward(self, s_feat, t_feat, gt_bboxes, input_shape):
        """s_feat, t_feat (N, C, H, W) (the student's already adapted); gt_bboxes a list of N
        (k_i, 4) x1y1x2y2 in pixels of the padded input of shape ``input_shape`` (H_in, W_in).
        Returns a scalar."""
        check_same_shape('DecoupledFeatureLoss', s_feat, t_feat,
                         "Give the term an adapter (the default adapter='auto' aligns them).")
        mask = gt_box_mask(gt_bboxes, tuple(input_shape), t_feat.shape[-2:])  # (N, H, W)
        sq = (s_feat.float() - t_feat.detach().float()).pow(2).sum(dim=1)  # (N, H, W)
        loss_fg = (sq * mask).sum() / (2 * mask.sum().clamp(min=1))
        loss_bg = (sq * (1 - mask)).sum() / (2 * (1 - mask).sum().clamp(min=1))
        return self.loss_weight * (self.fg_weight * loss_fg + self.bg_weight * loss_bg)
