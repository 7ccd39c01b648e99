"""Head-level knowledge in rows: the student's assignment (positives, targets in the head's own
regression space) and the student's and teacher's predictions at the same locations, for dense
heads (anchor heads, RPN, ATSS, GFL, FCOS) and the RCNN box head of two-stage detectors.

Every head-level term (bounded regression, soft labels, LD) reads these rows, so the assignment
and the conversions live here once.

Regression spaces:

- ``'delta'``: anchor heads that regress encoded deltas (RetinaNet, RPN, SSD-style heads, the RCNN
  box head): predictions and targets in the head's ``bbox_coder`` encoding.
- ``'distance'``: heads whose box is four distances from a prior's centre (FCOS, ATSS and other
  ``reg_decoded_bbox`` anchor heads, GFL's integral): left, top, right, bottom in units of the
  level's stride, so heads of different families on the same strides compare.
"""
import torch
from mmdet.models.dense_heads import AnchorHead, FCOSHead, GFLHead
from mmdet.structures.bbox import bbox2distance

from .vocabulary import DETECTION


def dense_head(detector, who):
    """The dense head of ``detector`` whose outputs are ``*_cls_scores`` / ``*_bbox_preds``: the
    RPN of a two-stage detector, the ``bbox_head`` of a single-stage one. ``who`` names the model
    in the error (``'student'``, ``'member student2'``)."""
    if getattr(detector, 'with_rpn', False) or hasattr(detector, 'roi_head'):
        return detector.rpn_head
    if hasattr(detector, 'bbox_head'):
        return detector.bbox_head
    raise ValueError(f'the {who} {type(detector).__name__} has neither a bbox_head nor an '
                     'rpn_head: head-level terms cannot read it.')


def head_space(head):
    """``'delta'`` or ``'distance'`` (see the module docstring)."""
    if isinstance(head, (FCOSHead, GFLHead)) or getattr(head, 'reg_decoded_bbox', False):
        return 'distance'
    if isinstance(head, AnchorHead):
        return 'delta'
    raise NotImplementedError(
        f'{type(head).__name__}: head-level rows are available for AnchorHead-based heads '
        '(RetinaNet, RPN, ATSS, GFL, ...) and FCOS-style point heads.')


def level_strides(head):
    return [s[0] if isinstance(s, (tuple, list)) else s for s in head.prior_generator.strides]


def flatten_level(x, num_priors):
    """(N, A*C, H, W) -> (N, H*W*A, C), mmdet's order (location-major, then anchors)."""
    N, AC, H, W = x.shape
    return x.permute(0, 2, 3, 1).reshape(N, H * W * num_priors, AC // num_priors)


def priors_of(head, featmap_sizes, device):
    """One (H*W*A, 4) per level: anchors, or (x, y, stride, stride) of points."""
    if isinstance(head, FCOSHead):
        return head.prior_generator.grid_priors(featmap_sizes, device=device, with_stride=True)
    return head.prior_generator.grid_priors(featmap_sizes, device=device)


def centres_of(head, priors):
    if isinstance(head, FCOSHead):
        return priors[:, :2]
    return (priors[:, :2] + priors[:, 2:]) / 2


def regression_in_space(head, bbox_preds, featmap_sizes):
    """The head's box predictions, one (N, H*W*A, 4) per level, in its space."""
    device = bbox_preds[0].device
    priors = priors_of(head, featmap_sizes, device)
    num_priors = head.prior_generator.num_base_priors[0]
    out = []
    for pred, prior, stride in zip(bbox_preds, priors, level_strides(head)):
        if isinstance(head, GFLHead):
            rows = flatten_level(pred, num_priors)  # (N, P, 4 * (reg_max + 1))
            out.append(head.integral(rows.reshape(-1, rows.shape[-1])).reshape(
                rows.shape[0], rows.shape[1], 4))
        elif isinstance(head, FCOSHead):
            # FCOS with norm_on_bbox predicts stride units in training and multiplies them by
            # the stride in eval mode (a frozen teacher); without it, always pixels
            rows = flatten_level(pred, 1)
            out.append(rows if head.norm_on_bbox and head.training else rows / stride)
        elif getattr(head, 'reg_decoded_bbox', False):
            deltas = flatten_level(pred, num_priors)
            N, P, _ = deltas.shape
            boxes = head.bbox_coder.decode(prior.repeat(N, 1), deltas.reshape(-1, 4))
            out.append(bbox2distance(centres_of(head, prior).repeat(N, 1), boxes)
                       .reshape(N, P, 4) / stride)
        else:
            out.append(flatten_level(pred, num_priors))
    return out


def dense_targets(head, cls_scores, gt_instances, img_metas):
    """Assigns with ``head``'s own assigner and returns, per level, (N, P_l) ``labels`` (K =
    background), ``label_weights``, (N, P_l, 4) ``targets`` in the head's space and their
    ``target_weights``; plus ``avg_factor``, the divisor the head's own classification loss uses.
    """
    featmap_sizes = [s.shape[-2:] for s in cls_scores]
    device = cls_scores[0].device
    N = len(gt_instances)
    if isinstance(head, FCOSHead):
        points = head.prior_generator.grid_priors(featmap_sizes, device=device)
        labels, targets = head.get_targets(points, gt_instances)
        labels = [lb.reshape(N, -1) for lb in labels]
        targets = [t.reshape(N, -1, 4) for t in targets]
        if not head.norm_on_bbox:
            targets = [t / s for t, s in zip(targets, level_strides(head))]
        label_weights = [torch.ones_like(lb, dtype=torch.float) for lb in labels]
        target_weights = [torch.ones_like(t) for t in targets]
        num_pos = sum(((lb >= 0) & (lb < head.num_classes)).sum() for lb in labels)
        return dict(labels=labels, label_weights=label_weights, targets=targets,
                    target_weights=target_weights, avg_factor=max(float(num_pos), 1.0))
    anchors, valid_flags = head.get_anchors(featmap_sizes, img_metas, device=device)
    level_anchors = [a[None].expand(N, -1, -1) for a in anchors[0]]  # before get_targets
    out = head.get_targets(anchors, valid_flags, gt_instances, img_metas)
    if type(head).get_targets is AnchorHead.get_targets:
        labels, label_weights, targets, target_weights, avg_factor = out[:5]
    else:  # ATSS, GFL and their kin give the anchors first
        _, labels, label_weights, targets, target_weights, avg_factor = out[:6]
    if head_space(head) == 'distance':
        converted = []
        for a, t, stride in zip(level_anchors, targets, level_strides(head)):
            dist = bbox2distance(centres_of(head, a.reshape(-1, 4)),
                                 t.reshape(-1, 4)).reshape(t.shape) / stride
            if isinstance(head, GFLHead):
                dist = dist.clamp(max=head.reg_max - 0.01)  # GFL's own encoding
            converted.append(dist)
        targets = converted
    return dict(labels=labels, label_weights=[w.float() for w in label_weights],
                targets=targets, target_weights=target_weights,
                avg_factor=max(float(avg_factor), 1.0))


def check_dense_heads_match(s_head, t_head, s_cls, t_cls, featmap_sizes):
    """Student and teacher must predict at the same priors, with the same classes and in the same
    regression space; raises a ValueError naming both heads and what differs."""
    names = f"the student's {type(s_head).__name__} and the teacher's {type(t_head).__name__}"
    if head_space(s_head) != head_space(t_head):
        raise ValueError(f'{names} regress in different spaces ({head_space(s_head)} vs '
                         f'{head_space(t_head)}): head-level terms need the same targets.')
    if head_space(s_head) == 'delta':
        coders = [(type(h.bbox_coder).__name__, tuple(getattr(h.bbox_coder, 'means', ())),
                   tuple(getattr(h.bbox_coder, 'stds', ()))) for h in (s_head, t_head)]
        if coders[0] != coders[1]:
            raise ValueError(f'{names} encode deltas differently (bbox_coder type, means, '
                             f'stds: {coders[0]} vs {coders[1]}); give both the same coder.')
    device = s_cls[0].device
    s_priors = priors_of(s_head, featmap_sizes, device)
    t_priors = priors_of(t_head, featmap_sizes, device)
    for lv, (sp, tp) in enumerate(zip(s_priors, t_priors)):
        same = sp.shape == tp.shape and (
            torch.equal(centres_of(s_head, sp), centres_of(t_head, tp))
            if head_space(s_head) == 'distance' else torch.equal(sp, tp))
        if not same:
            raise ValueError(f'{names} do not predict at the same anchors / points on level '
                             f'{lv}: priors {tuple(sp.shape)} vs {tuple(tp.shape)} (strides '
                             f'{level_strides(s_head)} vs {level_strides(t_head)}); give both '
                             'heads the same prior generator.')
    if len(s_cls) != len(t_cls) or any(a.shape != b.shape for a, b in zip(s_cls, t_cls)):
        raise ValueError(f'{names} give classification maps of different shapes: '
                         f'{[tuple(c.shape) for c in s_cls]} vs '
                         f'{[tuple(c.shape) for c in t_cls]}.')


def dense_rows(s_head, t_head, s_out, t_out, gt_instances, img_metas, wants=(),
               vlr_alpha=0.25, vlr_mode='reference'):
    """The vocabulary's dense-head rows (see ``DetectionDistiller.VOCABULARY``). The teacher's
    rows (``t_pos_reg``, ``t_cls_rows``: same priors, classes and space required; LD's
    ``t_pos_bins``: see :func:`bin_rows`) and the bin rows only when ``wants`` names them."""
    s_cls, s_reg = s_out
    featmap_sizes = [c.shape[-2:] for c in s_cls]
    wants = set(wants)
    if wants & {'t_pos_reg', 't_cls_rows'}:
        check_dense_heads_match(s_head, t_head, s_cls, t_out[0], featmap_sizes)
    if wants & {*BIN_NAMES, *VLR_NAMES}:
        require_bins(s_head)
    with torch.no_grad():
        tg = dense_targets(s_head, s_cls, gt_instances, img_metas)
    num_priors = s_head.prior_generator.num_base_priors[0]
    labels = torch.cat(tg['labels'], dim=1).reshape(-1)
    pos = (labels >= 0) & (labels < s_head.num_classes)

    def cls_rows(maps):
        return torch.cat([flatten_level(c, num_priors) for c in maps], 1).reshape(
            -1, s_head.cls_out_channels)

    def pos_reg(head, preds):
        return torch.cat(regression_in_space(head, preds, featmap_sizes), 1).reshape(-1, 4)[pos]

    rows = {
        'pos_mask': [(lb >= 0) & (lb < s_head.num_classes) for lb in tg['labels']],
        'labels': tg['labels'], 'bbox_targets': tg['targets'],
        'num_pos': max(float(pos.sum()), 1.0),
        's_pos_reg': pos_reg(s_head, s_reg),
        'pos_reg_targets': torch.cat(tg['targets'], dim=1).reshape(-1, 4)[pos],
        'pos_reg_weights': torch.cat(tg['target_weights'], dim=1).reshape(-1, 4)[pos],
        's_cls_rows': cls_rows(s_cls),
        'cls_row_weights': torch.cat(tg['label_weights'], dim=1).reshape(-1),
        'cls_avg_factor': tg['avg_factor'],
    }
    if 't_pos_reg' in wants:
        with torch.no_grad():
            rows['t_pos_reg'] = pos_reg(t_head, t_out[1])
    if 't_cls_rows' in wants:
        rows['t_cls_rows'] = cls_rows(t_out[0])
    if 'pos_level_weights' in wants:
        rows['pos_level_weights'] = per_level_mean_weights(tg['labels'], pos)
    if 's_pos_cls' in wants:
        rows['s_pos_cls'] = rows['s_cls_rows'][pos]
    if 't_pos_cls' in wants:
        rows['t_pos_cls'] = cls_rows(t_out[0])[pos]
    if wants & set(BIN_NAMES):
        rows.update(bin_rows(s_head, t_head if 't_pos_bins' in wants else None, s_reg,
                             t_out[1] if 't_pos_bins' in wants else None, s_cls, pos,
                             t_out[0] if 't_pos_bins' in wants else None))
    if wants & set(VLR_NAMES):
        anchors = priors_of(s_head, featmap_sizes, s_cls[0].device)
        vlr, vlr_weights = vlr_mask(anchors, gt_instances, pos, vlr_alpha, mode=vlr_mode)
        region = bin_rows(s_head, t_head if 't_vlr_bins' in wants else None, s_reg,
                          t_out[1] if 't_vlr_bins' in wants else None, s_cls, vlr,
                          t_out[0] if 't_vlr_bins' in wants else None)
        rows.update({'s_vlr_bins': region['s_pos_bins'],
                     'vlr_bin_weights': region['pos_bin_weights'] if vlr_mode == 'score'
                     else vlr_weights[vlr].repeat_interleave(4),
                     'num_vlr': max(float(vlr.sum()), 1.0)})
        if 't_pos_bins' in region:
            rows['t_vlr_bins'] = region['t_pos_bins']
    return rows


def rcnn_rows(s_bbox_head, captured, t_cls, t_reg):
    """The vocabulary's RCNN rows from what the student's box head saw (``captured``: its
    ``loss_and_target`` arguments and targets) and the teacher's box head on the same RoIs."""
    labels, label_weights, targets, target_weights = captured['targets']
    s_cls, s_reg = captured['cls_score'], captured['bbox_pred']
    if t_cls.shape != s_cls.shape:
        raise ValueError(f"the student's and teacher's RCNN box heads score "
                         f'{tuple(s_cls.shape)} vs {tuple(t_cls.shape)}: they must have the '
                         'same classes.')
    K = s_bbox_head.num_classes
    pos = (labels >= 0) & (labels < K)
    idx = torch.arange(len(labels), device=labels.device)[pos]

    def pos_deltas(reg):
        if reg.shape[1] == 4:  # class-agnostic
            return reg[pos]
        return reg.reshape(len(labels), -1, 4)[idx, labels[pos]]

    return {
        's_rcnn_cls': s_cls, 't_rcnn_cls': t_cls,
        'rcnn_label_weights': label_weights.float(),
        'rcnn_num_rois': max(float(len(labels)), 1.0),
        's_rcnn_pos_reg': pos_deltas(s_reg), 't_rcnn_pos_reg': pos_deltas(t_reg),
        'rcnn_pos_reg_targets': targets[pos], 'rcnn_pos_reg_weights': target_weights[pos],
    }


def boxes_of(head, bbox_preds, featmap_sizes):
    """The head's predicted boxes (x1y1x2y2, pixels), one (N, H*W*A, 4) per level."""
    device = bbox_preds[0].device
    priors = priors_of(head, featmap_sizes, device)
    out = []
    if head_space(head) == 'delta':
        num_priors = head.prior_generator.num_base_priors[0]
        for pred, prior in zip(bbox_preds, priors):
            deltas = flatten_level(pred, num_priors)
            N, P, _ = deltas.shape
            out.append(head.bbox_coder.decode(prior.repeat(N, 1), deltas.reshape(-1, 4))
                       .reshape(N, P, 4))
        return out
    for dist, prior, stride in zip(regression_in_space(head, bbox_preds, featmap_sizes), priors,
                                   level_strides(head)):
        centres = centres_of(head, prior)[None]
        d = dist * stride
        out.append(torch.cat([centres - d[..., :2], centres + d[..., 2:]], dim=-1))
    return out


#: the vocabulary's GFL edge-bin rows and LD's valuable-localization-region rows
BIN_NAMES = tuple(name for name, e in DETECTION.items() if 'bins' in e.stages)
VLR_NAMES = tuple(name for name, e in DETECTION.items() if 'vlr' in e.stages)


def require_bins(head):
    if not isinstance(head, GFLHead):
        raise ValueError(f"bin inputs ({', '.join(BIN_NAMES)}) need a student head that "
                         f"classifies box edges over bins (GFLHead); the student's is "
                         f'{type(head).__name__}.')


def per_level_mean_weights(level_labels, pos):
    """``1 / P_l`` at each positive, P_l the batch's positives on its level: a weighted sum over
    the positive rows is then the mean over each level's positives, summed over the levels (as a
    loss computed level by level with the level's positives as ``avg_factor`` adds up).

    Args:
        level_labels (list[Tensor]): (N, P_l) per level, in the rows' order (image-major).
        pos (Tensor): (N * sum P_l,) bool.

    Returns:
        Tensor: (P,) float, in the order of the positive rows.
    """
    N = level_labels[0].shape[0]
    level = torch.cat([torch.full((lb.shape[1],), i, device=pos.device)
                       for i, lb in enumerate(level_labels)])[None].expand(N, -1).reshape(-1)
    level = level[pos]
    counts = torch.bincount(level, minlength=len(level_labels)).float()
    return 1.0 / counts[level]


def bin_rows(s_head, t_head, s_reg, t_reg, s_cls, pos, t_cls=None):
    """LD's rows at the positives ``pos`` (the student's, in the rows' order): the student's
    edge-bin logits ``s_pos_bins`` (4P, n), the teacher's on the student's bins ``t_pos_bins``
    (as log-probabilities when re-binned or built from a continuous teacher) and
    ``pos_bin_weights`` (4P,), the student's largest class score at each positive, and
    ``pos_bin_avg_factor``, their sum (GFL / LD divide the box losses by it).

    A GFL teacher with the student's ``reg_max`` gives its logits; with another ``reg_max`` its
    distribution re-binned (:func:`mmkd.models.losses.rebin_distribution`). A teacher that
    regresses continuous offsets (FCOS, ATSS, RetinaNet) gives its box at each location (with
    several anchors per location, the box of its most confident anchor, from ``t_cls``), as
    distances from the student's prior centre in the student's stride units, spread over the two
    nearest bins (:func:`mmkd.models.losses.distances_to_bins`).
    """
    from mmkd.models.losses import distances_to_bins, rebin_distribution
    require_bins(s_head)
    n = s_head.reg_max + 1
    featmap_sizes = [c.shape[-2:] for c in s_cls]
    s_bins = torch.cat([flatten_level(p, 1) for p in s_reg], 1).reshape(-1, 4 * n)[pos]
    weights = torch.cat([flatten_level(c, 1) for c in s_cls], 1).reshape(
        -1, s_head.cls_out_channels)[pos].detach().sigmoid().amax(dim=1)
    rows = {'s_pos_bins': s_bins.reshape(-1, n), 'pos_bin_weights': weights.repeat_interleave(4),
            'pos_bin_avg_factor': max(4 * float(weights.sum()), 1e-6)}
    if t_head is None:
        return rows
    with torch.no_grad():
        if isinstance(t_head, GFLHead):
            n_t = t_head.reg_max + 1
            t_bins = torch.cat([flatten_level(p, 1) for p in t_reg], 1).reshape(
                -1, 4 * n_t)[pos].reshape(-1, n_t)
            if n_t != n:
                t_bins = rebin_distribution(t_bins.softmax(dim=1), s_head.reg_max).log()
        else:
            a_t = t_head.prior_generator.num_base_priors[0]
            if level_strides(t_head) != level_strides(s_head):
                raise ValueError(
                    f"the teacher's {type(t_head).__name__} predicts on strides "
                    f'{level_strides(t_head)}; a continuous teacher for the student\'s '
                    f'{type(s_head).__name__} needs its strides {level_strides(s_head)}.')
            boxes = torch.cat(boxes_of(t_head, t_reg, featmap_sizes), 1)  # (N, HW*A, 4)
            if a_t > 1:
                # several anchors per location (RetinaNet): the box of the teacher's most
                # confident anchor at each location
                scores = torch.cat([flatten_level(c, a_t) for c in t_cls], 1).amax(dim=2)
                N = boxes.shape[0]
                best = scores.reshape(N, -1, a_t).argmax(dim=2)  # (N, HW)
                boxes = boxes.reshape(N, -1, a_t, 4).gather(
                    2, best[..., None, None].expand(-1, -1, 1, 4)).squeeze(2)
            boxes = boxes.reshape(-1, 4)[pos]
            priors = priors_of(s_head, featmap_sizes, boxes.device)
            N = s_cls[0].shape[0]
            centres = torch.cat([centres_of(s_head, p) for p in priors])[None].expand(
                N, -1, -1).reshape(-1, 2)[pos]
            strides = torch.cat([p.new_full((len(p),), float(s)) for p, s in
                                 zip(priors, level_strides(s_head))])[None].expand(
                N, -1).reshape(-1)[pos]
            dist = bbox2distance(centres, boxes) / strides[:, None]
            t_bins = distances_to_bins(dist, s_head.reg_max).log()
    rows['t_pos_bins'] = t_bins
    return rows


def diou(priors, boxes, iou=None):
    """Distance-IoU of every prior with every box, (P, k): IoU minus the squared distance of the
    centres over the squared diagonal of the smallest enclosing box. ``iou``: their IoU, when the
    caller has it already."""
    from mmkd.structures import prior_gt_iou
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
    from mmkd.structures import prior_gt_iou
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
