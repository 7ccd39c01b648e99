"""GT boxes -> per-level foreground / background masks, vectorised over boxes."""
import torch


def box_cell_ranges(bboxes, input_shape, feat_shape):
    """The feature cells each box covers.

    The stride of the level is ``input_shape / feat_shape`` (the padded network input, not the
    unpadded image). A box covers columns ``floor(x1 / sx)`` to ``ceil(x2 / sx) - 1`` (at least
    one column, clipped to the map), rows likewise.

    Args:
        bboxes (Tensor): (k, 4) x1y1x2y2 in pixels of the padded input.
        input_shape (tuple[int, int]): (H_in, W_in) of the padded input.
        feat_shape (tuple[int, int]): (H, W) of the level.

    Returns:
        tuple[Tensor, Tensor, Tensor, Tensor]: first / last column and first / last row, each (k,)
        long, inclusive.
    """
    H, W = feat_shape
    sy, sx = input_shape[0] / H, input_shape[1] / W
    x0 = torch.floor(bboxes[:, 0] / sx).long().clamp(0, W - 1)
    y0 = torch.floor(bboxes[:, 1] / sy).long().clamp(0, H - 1)
    x1 = (torch.ceil(bboxes[:, 2] / sx).long() - 1).clamp(max=W - 1)
    y1 = (torch.ceil(bboxes[:, 3] / sy).long() - 1).clamp(max=H - 1)
    return x0, torch.maximum(x1, x0), y0, torch.maximum(y1, y0)


def gt_foreground_mask(bboxes, input_shape, feat_shape):
    """FGD's foreground mask of one image: each cell takes, over the boxes covering it, the
    largest ``1 / (cells the box covers)`` (Yang et al., CVPR 2022, Eq. 2 with the box measured
    in feature cells); cells outside every box are 0.

    Args:
        bboxes (Tensor): (k, 4) x1y1x2y2 in pixels of the padded input; k may be 0.
        input_shape, feat_shape: see :func:`box_cell_ranges`.

    Returns:
        Tensor: (H, W) float.
    """
    H, W = feat_shape
    if bboxes.numel() == 0:
        return bboxes.new_zeros(H, W, dtype=torch.float32)
    x0, x1, y0, y1 = box_cell_ranges(bboxes.float(), input_shape, feat_shape)
    cols = torch.arange(W, device=bboxes.device)
    rows = torch.arange(H, device=bboxes.device)
    in_x = (cols[None] >= x0[:, None]) & (cols[None] <= x1[:, None])  # (k, W)
    in_y = (rows[None] >= y0[:, None]) & (rows[None] <= y1[:, None])  # (k, H)
    value = 1.0 / ((x1 - x0 + 1) * (y1 - y0 + 1)).float()  # (k,)
    cover = in_y[:, :, None] & in_x[:, None, :]  # (k, H, W)
    return (cover.float() * value[:, None, None]).amax(dim=0)


def fg_bg_masks(gt_bboxes, input_shape, feat_shape):
    """Foreground masks (:func:`gt_foreground_mask`) and background masks ``1 / N_bg`` on the
    cells outside every box, for a batch.

    Args:
        gt_bboxes (list[Tensor]): N tensors (k_i, 4).

    Returns:
        tuple[Tensor, Tensor]: (N, H, W) foreground and background masks.
    """
    fg = torch.stack([gt_foreground_mask(b, input_shape, feat_shape) for b in gt_bboxes])
    bg = (fg == 0).float()  # (N, H, W)
    bg = bg / bg.flatten(1).sum(dim=1).clamp(min=1)[:, None, None]
    return fg, bg
