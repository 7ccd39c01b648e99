"""GT boxes -> per-level foreground / background masks, vectorised over boxes."""
import torch


#: FGD's cell rules: 'reference' (yzd-v/FGD: floor(x1 / s) .. ceil(x2 / s), both included) and
#: 'covered' (the cells the box overlaps: floor(x1 / s) .. ceil(x2 / s) - 1).
CELL_RULES = ('reference', 'covered')


def box_cell_ranges(bboxes, input_shape, feat_shape, cells='covered'):
    """The feature cells each box covers, and the number of cells its value divides by.

    The stride of the level is ``input_shape / feat_shape`` (the padded network input, not the
    unpadded image). With ``cells='covered'`` a box covers columns ``floor(x1 / sx)`` to
    ``ceil(x2 / sx) - 1`` (at least one column, clipped to the map), rows likewise, and its
    count is that of the clipped range. With ``cells='reference'`` (FGD's reference code) the
    columns run from ``floor(x1 / sx)`` to ``ceil(x2 / sx)`` inclusive, one more, and the count is
    that of the unclipped range: an 8 x 8 px box on cell boundaries at stride 8 is 2 x 2 cells.

    Args:
        bboxes (Tensor): (k, 4) x1y1x2y2 in pixels of the padded input.
        input_shape (tuple[int, int]): (H_in, W_in) of the padded input.
        feat_shape (tuple[int, int]): (H, W) of the level.
        cells (str): ``'covered'`` (default) or ``'reference'``.

    Returns:
        tuple[Tensor, Tensor, Tensor, Tensor, Tensor]: first / last column and first / last row,
        each (k,) long, inclusive and clipped to the map, and the (k,) cell count.
    """
    if cells not in CELL_RULES:
        raise ValueError(f'cells={cells!r}; use one of {CELL_RULES}.')
    H, W = feat_shape
    sy, sx = input_shape[0] / H, input_shape[1] / W
    x0 = torch.floor(bboxes[:, 0] / sx).long().clamp(0, W - 1)
    y0 = torch.floor(bboxes[:, 1] / sy).long().clamp(0, H - 1)
    extra = int(cells == 'covered')
    x1 = torch.ceil(bboxes[:, 2] / sx).long() - extra
    y1 = torch.ceil(bboxes[:, 3] / sy).long() - extra
    if cells == 'reference':
        count = (x1 - x0 + 1) * (y1 - y0 + 1)
        x1, y1 = x1.clamp(max=W - 1), y1.clamp(max=H - 1)
        return x0, x1, y0, y1, count
    x1 = torch.maximum(x1.clamp(max=W - 1), x0)
    y1 = torch.maximum(y1.clamp(max=H - 1), y0)
    return x0, x1, y0, y1, (x1 - x0 + 1) * (y1 - y0 + 1)


def gt_foreground_mask(bboxes, input_shape, feat_shape, cells='covered'):
    """FGD's foreground mask of one image: each cell takes, over the boxes covering it, the
    largest ``1 / (cells the box covers)`` (Yang et al., CVPR 2022, Eq. 2 with the box measured
    in feature cells); cells outside every box are 0.

    Args:
        bboxes (Tensor): (k, 4) x1y1x2y2 in pixels of the padded input; k may be 0.
        input_shape, feat_shape, cells: see :func:`box_cell_ranges`.

    Returns:
        Tensor: (H, W) float.
    """
    return batch_foreground_masks([bboxes], input_shape, feat_shape, cells)[0]


def fg_bg_masks(gt_bboxes, input_shape, feat_shape, cells='covered'):
    """Foreground masks (:func:`gt_foreground_mask`) and background masks ``1 / N_bg`` on the
    cells outside every box, for a batch; vectorised over the boxes of all images.

    Args:
        gt_bboxes (list[Tensor]): N tensors (k_i, 4).

    Returns:
        tuple[Tensor, Tensor]: (N, H, W) foreground and background masks.
    """
    fg = batch_foreground_masks(gt_bboxes, input_shape, feat_shape, cells)
    bg = (fg == 0).float()  # (N, H, W)
    bg = bg / bg.flatten(1).sum(dim=1).clamp(min=1)[:, None, None]
    return fg, bg


def batch_foreground_masks(gt_bboxes, input_shape, feat_shape, cells='covered'):
    """:func:`gt_foreground_mask` of every image at once: (N, H, W)."""
    H, W = feat_shape
    N = len(gt_bboxes)
    device = gt_bboxes[0].device if N else None
    fg = torch.zeros(N, H, W, device=device)
    counts = [len(b) for b in gt_bboxes]
    if sum(counts) == 0:
        return fg
    boxes = torch.cat([b.reshape(-1, 4) for b in gt_bboxes]).float()
    image = torch.repeat_interleave(torch.arange(N, device=device),
                                    torch.tensor(counts, device=device))
    x0, x1, y0, y1, count = box_cell_ranges(boxes, input_shape, feat_shape, cells)
    return paint_boxes(fg, image, (x0, x1, y0, y1), 1.0 / count.float())


def paint_boxes(canvas, image, ranges, value):
    """Writes into ``canvas`` (N, H, W), at each box's inclusive cell ranges, the largest of
    what is there and the box's ``value``; vectorised over the boxes.

    Args:
        canvas (Tensor): (N, H, W), changed in place and returned.
        image (Tensor): (K,) long, the image of each box.
        ranges (tuple[Tensor, Tensor, Tensor, Tensor]): first / last column and first / last
            row of each box, (K,) long each.
        value (Tensor | float): (K,) or one number.
    """
    x0, x1, y0, y1 = ranges
    H, W = canvas.shape[-2:]
    cols = torch.arange(W, device=canvas.device)
    rows = torch.arange(H, device=canvas.device)
    in_x = (cols[None] >= x0[:, None]) & (cols[None] <= x1[:, None])  # (K, W)
    in_y = (rows[None] >= y0[:, None]) & (rows[None] <= y1[:, None])  # (K, H)
    value = torch.as_tensor(value, dtype=canvas.dtype, device=canvas.device).expand(len(x0))
    cover = (in_y[:, :, None] & in_x[:, None, :]).float() * value[:, None, None]  # (K, H, W)
    return canvas.index_reduce_(0, image, cover, 'amax', include_self=True)


def gt_box_mask(gt_bboxes, input_shape, feat_shape):
    """DeFeat's mask for a batch: 1 on the cells any GT box covers (:func:`box_cell_ranges`),
    0 elsewhere.

    Args:
        gt_bboxes (list[Tensor]): N tensors (k_i, 4) x1y1x2y2 in pixels of the padded input.

    Returns:
        Tensor: (N, H, W) float.
    """
    return (batch_foreground_masks(gt_bboxes, input_shape, feat_shape) > 0).float()


def box_level_indices(bboxes, num_levels, base_scale=56.0):
    """DeFeat's level of each GT box: ``floor(log2(sqrt((w + 1)(h + 1)) / base_scale + 1e-6))``
    clipped to ``0 .. num_levels - 1`` (the reference code's ``get_gt_mask``: boxes up to about
    2 x 56 px go to the first level, each doubling of the side one level up).

    Args:
        bboxes (Tensor): (k, 4) x1y1x2y2 in pixels.
        num_levels (int): the levels the boxes are shared among.
        base_scale (float): Defaults to 56 (the reference code's).

    Returns:
        Tensor: (k,) long.
    """
    area = ((bboxes[:, 2] - bboxes[:, 0] + 1) * (bboxes[:, 3] - bboxes[:, 1] + 1)).clamp(min=0)
    level = torch.floor(torch.log2(area.sqrt() / base_scale + 1e-6))
    return level.clamp(0, num_levels - 1).long()


def level_assigned_box_masks(gt_bboxes, input_shape, feat_shapes, base_scale=56.0):
    """DeFeat's per-level GT masks as its reference code builds them: each box is 1 only on its
    own level (:func:`box_level_indices` over the levels given, in order) on the cells
    ``int(x1 / s) .. int(x2 / s) - 1``, rows likewise, with ``s`` the level's stride in the
    padded input; when the range is empty on either axis, the single cell
    ``(int(y1 / s), int(x1 / s))``.

    Args:
        gt_bboxes (list[Tensor]): N tensors (k_i, 4) x1y1x2y2 in pixels of the padded input.
        input_shape (tuple[int, int]): (H_in, W_in) of the padded input.
        feat_shapes (list[tuple[int, int]]): (H_l, W_l) of each level.

    Returns:
        list[Tensor]: one (N, H_l, W_l) float mask of 0 / 1 per level.
    """
    N = len(gt_bboxes)
    device = gt_bboxes[0].device if N else None
    counts = [len(b) for b in gt_bboxes]
    boxes = torch.cat([b.reshape(-1, 4) for b in gt_bboxes]).float() if N else \
        torch.zeros(0, 4)
    image = torch.repeat_interleave(torch.arange(N, device=device),
                                    torch.tensor(counts, device=device, dtype=torch.long))
    level = box_level_indices(boxes, len(feat_shapes), base_scale)
    masks = []
    for lv, (H, W) in enumerate(feat_shapes):
        sy, sx = input_shape[0] / H, input_shape[1] / W
        mine = level == lv
        b, img = boxes[mine], image[mine]
        x0 = torch.floor(b[:, 0] / sx).long()
        y0 = torch.floor(b[:, 1] / sy).long()
        x1 = torch.floor(b[:, 2] / sx).long() - 1
        y1 = torch.floor(b[:, 3] / sy).long() - 1
        single = (x1 < x0) | (y1 < y0)  # the reference code marks the one cell (y0, x0)
        x1 = torch.where(single, x0, x1)
        y1 = torch.where(single, y0, y1)
        masks.append(paint_boxes(torch.zeros(N, H, W, device=device), img, (x0, x1, y0, y1),
                                 1.0))
    return masks


def points_as_boxes(points, strides, scale=8):
    """Square boxes of side ``scale * stride`` centred on prior points, so that anchor-free heads
    (FCOS, ...) get FGFI's imitation mask: each point stands for the anchor an ATSS / GFL head
    (``octave_base_scale=8``, one anchor per location) would place there.

    Args:
        points (Tensor): (M, 2) x, y.
        strides (Tensor | float): (M, 2) stride_x, stride_y, or one number.

    Returns:
        Tensor: (M, 4) x1y1x2y2.
    """
    half = torch.as_tensor(strides, dtype=points.dtype, device=points.device) * scale / 2
    half = half.expand_as(points)
    return torch.cat([points - half, points + half], dim=1)


def prior_gt_iou(priors, bboxes):
    """IoU of every prior with every box, (P, k); vectorised."""
    lt = torch.maximum(priors[:, None, :2], bboxes[None, :, :2])
    rb = torch.minimum(priors[:, None, 2:], bboxes[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=2)
    area_p = (priors[:, 2:] - priors[:, :2]).clamp(min=0).prod(dim=1)
    area_b = (bboxes[:, 2:] - bboxes[:, :2]).clamp(min=0).prod(dim=1)
    return inter / (area_p[:, None] + area_b[None] - inter).clamp(min=1e-6)


def anchor_imitation_mask(priors, gt_bboxes, feat_shapes, thr_ratio=0.5):
    """FGFI's imitation mask (Wang et al., CVPR 2019, Sec. 3.1): a location is imitated when one
    of its anchors has an IoU with some GT box above ``thr_ratio`` times that box's largest IoU
    over all anchors; the largest IoU is taken over the anchors of every level given, so a box
    marks the levels whose anchors fit it (the paper's single-level rule, extended to FPN).

    Args:
        priors (list[Tensor]): one (H_l*W_l*A, 4) per level, x1y1x2y2, in mmdet's order (location
            major, the A anchors of a location together); the same for every image.
        gt_bboxes (list[Tensor]): N tensors (k_i, 4).
        feat_shapes (list[tuple[int, int]]): (H_l, W_l) per level.
        thr_ratio (float): psi. Defaults to 0.5.

    Returns:
        list[Tensor]: one (N, H_l, W_l) float mask of 0 / 1 per level.
    """
    sizes = [len(p) for p in priors]
    for size, (H, W) in zip(sizes, feat_shapes):
        if size % (H * W):
            raise ValueError(f'anchor_imitation_mask: {size} priors do not fill a {H}x{W} level '
                             'with the same number of anchors per location.')
    all_priors = torch.cat(priors).float()
    N = len(gt_bboxes)
    masks = all_priors.new_zeros(N, len(all_priors))
    counts = [len(b) for b in gt_bboxes]
    if sum(counts):
        boxes = torch.cat([b.reshape(-1, 4) for b in gt_bboxes]).float()
        image = torch.repeat_interleave(torch.arange(N, device=boxes.device),
                                        torch.tensor(counts, device=boxes.device))
        iou = prior_gt_iou(all_priors, boxes)  # (P, K), the boxes of every image
        best = iou.amax(dim=0)  # (K,)
        hit = ((iou > thr_ratio * best[None]) & (best[None] > 0)).float()  # (P, K)
        masks.index_reduce_(0, image, hit.t(), 'amax', include_self=True)
    masks = masks.split(sizes, dim=1)  # per level (N, H*W*A)
    return [m.reshape(N, H * W, -1).amax(dim=2).reshape(N, H, W)
            for m, (H, W) in zip(masks, feat_shapes)]


def label_maps(data_samples, ignore_index):
    """The GT label maps of a segmentation batch and the pixels they label.

    Args:
        data_samples (list[SegDataSample]): with ``gt_sem_seg`` of the padded input.
        ignore_index (int): the label of unlabelled (and padded) pixels.

    Returns:
        tuple[Tensor, Tensor]: (N, H, W) long labels, and (N, H, W) bool, True where the label
        is not ``ignore_index``.
    """
    gt = torch.stack([sample.gt_sem_seg.data[0] for sample in data_samples]).long()
    return gt, gt != ignore_index


def diou(priors, boxes, iou=None):
    """Distance-IoU of every prior with every box, (P, k): IoU minus the squared distance of the
    centres over the squared diagonal of the smallest enclosing box. ``iou``: their IoU, when the
    caller has it already."""
    if iou is None:
        iou = prior_gt_iou(priors, boxes)
    c_p = (priors[:, None, :2] + priors[:, None, 2:]) / 2
    c_b = (boxes[None, :, :2] + boxes[None, :, 2:]) / 2
    lt = torch.minimum(priors[:, None, :2], boxes[None, :, :2])
    rb = torch.maximum(priors[:, None, 2:], boxes[None, :, 2:])
    diag = (rb - lt).pow(2).sum(dim=2).clamp(min=1e-6)
    return iou - (c_p - c_b).pow(2).sum(dim=2) / diag


VLR_MODES = ('reference', 'score')


def reference_diou(priors, boxes):
    """LD's reference "DIoU" of every prior with every box, (P, k): the intersection over the
    prior's area minus the squared distance of the centres over the squared diagonal of the
    smallest enclosing box."""
    lt = torch.maximum(priors[:, None, :2], boxes[None, :, :2])
    rb = torch.minimum(priors[:, None, 2:], boxes[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=2)
    area = (priors[:, 2:] - priors[:, :2]).clamp(min=0).prod(dim=1)
    return diou(priors, boxes, inter / area[:, None].clamp(min=1e-6))


def vlr_mask(level_anchors, gt_instances, pos, alpha=0.25, topk=9, mode='score'):
    """LD's valuable localization region, (N * P,) bool in the rows' order, and a weight per
    location. Per GT box, its ATSS threshold is the mean + standard deviation of the IoUs of its
    ``topk`` nearest anchors per level. Vectorised over boxes; one pass per image.

    - ``mode='reference'`` (HikariTJU/LD's ``get_vlr_region``): the anchors whose "DIoU" with
      some GT box lies in ``[alpha * thr, thr)``, positives included; the weight is the anchor's
      largest IoU with the boxes it is in that band for. The reference code's DIoU
      (its ``iou2d_calculator`` in mode ``'diou'``) divides the intersection by the anchor's
      area, not the union, before subtracting the centre term: :func:`reference_diou`.
    - ``mode='score'`` (mmkd's earlier rule): DIoU of at least ``alpha * thr`` for some box,
      outside the main region ``pos``; the weight is 1 (the caller weights by the student's
      score).

    Args:
        level_anchors (list[Tensor]): (P_l, 4) per level, the same for every image.
        gt_instances (list[InstanceData]): N images' GT.
        pos (Tensor): (N * P,) bool, the positives.
        alpha (float): alpha_vl. Defaults to 0.25.
        topk (int): ATSS's candidates per level. Defaults to 9.
        mode (str): ``'reference'`` or ``'score'``. Defaults to ``'score'``.

    Returns:
        tuple[Tensor, Tensor]: the (N * P,) mask and (N * P,) weights (0 outside it).
    """
    if mode not in VLR_MODES:
        raise ValueError(f'model.vlr_mode={mode!r}; use one of {VLR_MODES}.')
    anchors = torch.cat(level_anchors).float()
    centres = (anchors[:, :2] + anchors[:, 2:]) / 2
    sizes = [len(a) for a in level_anchors]
    masks, weights = [], []
    for gt in gt_instances:
        boxes = gt.bboxes.float()
        if len(boxes) == 0:
            masks.append(torch.zeros(len(anchors), dtype=torch.bool, device=anchors.device))
            weights.append(torch.zeros(len(anchors), device=anchors.device))
            continue
        iou = prior_gt_iou(anchors, boxes)  # (P, k)
        gt_centres = (boxes[:, :2] + boxes[:, 2:]) / 2
        dist = (centres[:, None] - gt_centres[None]).pow(2).sum(dim=2)  # (P, k)
        candidates = []
        start = 0
        for size in sizes:
            k = min(topk, size)
            idx = dist[start:start + size].topk(k, dim=0, largest=False).indices + start
            candidates.append(idx)
            start += size
        cand_iou = iou.gather(0, torch.cat(candidates))  # (levels * topk, k)
        threshold = (cand_iou.mean(dim=0) + cand_iou.std(dim=0))[None]  # (1, k)
        if mode == 'reference':
            d = reference_diou(anchors, boxes)
            band = (d >= alpha * threshold) & (d < threshold)  # (P, k)
            best = torch.where(band, iou, torch.full_like(iou, -1.0)).amax(dim=1)
            masks.append(band.any(dim=1))
            weights.append(best.clamp(min=0))
        else:
            masks.append((diou(anchors, boxes, iou) >= alpha * threshold).any(dim=1))
    if mode == 'score':
        mask = torch.cat(masks) & ~pos
        return mask, mask.float()
    return torch.cat(masks), torch.cat(weights)
