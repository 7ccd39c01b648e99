"""Head-level knowledge in rows: the student's assignment (positives, targets in the head's own
regression space) and the student's and teacher's predictions at the same locations, for dense
heads (anchor heads, RPN, ATSS, GFL, FCOS) and the RCNN box head of two-stage detectors
(:class:`RCNNFamily`, with the mmdet calls it relies on).

Every head-level term (bounded regression, soft labels, LD) reads these rows, so the assignment
and the conversions live here once. What differs between head families (where the priors are,
how a prediction becomes a box, how the head's own ``get_targets`` lays out its result) is one
class per family (:func:`family_of`); the rows are built from the family, not by switching on
the head's type in every function.

Regression spaces:

- ``'delta'``: anchor heads that regress encoded deltas (RetinaNet, RPN, SSD-style heads, the RCNN
  box head): predictions and targets in the head's ``bbox_coder`` encoding.
- ``'distance'``: heads whose box is four distances from a prior's centre (FCOS, ATSS and other
  ``reg_decoded_bbox`` anchor heads, GFL's integral): left, top, right, bottom in units of the
  level's stride, so heads of different families on the same strides compare.

The mmdet 3.3 calls the families rely on, all here: ``prior_generator.grid_priors`` /
``num_base_priors`` / ``strides``; ``AnchorHead.get_anchors`` and ``get_targets``, whose result
starts with the labels for ``AnchorHead`` itself and with the anchors for ATSS, GFL and their
kin; ``FCOSHead.get_targets`` on points, in stride units only with ``norm_on_bbox``;
``GFLHead.integral`` (the expected distance of an edge distribution); ``bbox_coder.decode``.
"""
import inspect
import types
import weakref

import torch
from mmdet.models.dense_heads import AnchorHead, ATSSHead, FCOSHead, GFLHead, RetinaHead
from mmdet.structures.bbox import bbox2distance

from mmkd.structures import distances_to_bins, rebin_distribution, vlr_mask
from .vocabulary import DETECTION

#: the rows :func:`dense_rows` gives when not told which (no teacher's, no bins)
STUDENT_ROWS = ('pos_mask', 'labels', 'bbox_targets', 'num_pos', 's_pos_reg', 'pos_reg_targets',
                'pos_reg_weights', 's_cls_rows', 'cls_row_weights', 'cls_avg_factor')
#: the vocabulary's GFL edge-bin rows and LD's valuable-localization-region rows
BIN_NAMES = tuple(name for name, e in DETECTION.items() if 'bins' in e.stages)
VLR_NAMES = tuple(name for name, e in DETECTION.items() if 'vlr' in e.stages)


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


def flatten_level(x, num_priors):
    """(N, A*C, H, W) -> (N, H*W*A, C), mmdet's order (location-major, then anchors)."""
    N, AC, H, W = x.shape
    return x.permute(0, 2, 3, 1).reshape(N, H * W * num_priors, AC // num_priors)


def level_rows(maps, num_priors, width):
    """Per-level maps (N, A*C, H, W) as one (N * sum(H*W*A) * C / width, width) of rows: the
    priors of each image, its levels concatenated (the rows' order), ``width`` values a row."""
    return torch.cat([flatten_level(m, num_priors) for m in maps], 1).reshape(-1, width)


# ------------------------------------------------------------------------------ head families
class AnchorFamily:
    """Anchor heads that regress the coder's deltas (RetinaNet, RPN, SSD-style): ``'delta'``."""

    space = 'delta'
    #: whether the head classifies box edges over bins (GFL)
    bins = False

    def __init__(self, head):
        self.head = head
        self.strides = [s[0] if isinstance(s, (tuple, list)) else s
                        for s in head.prior_generator.strides]
        self.num_priors = head.prior_generator.num_base_priors[0]

    def priors(self, featmap_sizes, device):
        """One (H*W*A, 4) per level: the anchors (x1y1x2y2)."""
        return self.head.prior_generator.grid_priors(featmap_sizes, device=device)

    def centres(self, priors):
        return (priors[:, :2] + priors[:, 2:]) / 2

    def regression(self, bbox_preds, featmap_sizes):
        """The head's box predictions, one (N, H*W*A, 4) per level, in its space."""
        return [flatten_level(pred, self.num_priors) for pred in bbox_preds]

    def decode(self, bbox_preds, featmap_sizes):
        """The head's predicted boxes (x1y1x2y2, pixels), one (N, H*W*A, 4) per level."""
        out = []
        for deltas, prior in zip(self.regression(bbox_preds, featmap_sizes),
                                 self.priors(featmap_sizes, bbox_preds[0].device)):
            N, P, _ = deltas.shape
            out.append(self.head.bbox_coder.decode(prior.repeat(N, 1), deltas.reshape(-1, 4))
                       .reshape(N, P, 4))
        return out

    def targets(self, cls_scores, gt_instances, img_metas, assigned=None):
        """Assigns with the head's own assigner and returns, per level, (N, P_l) ``labels`` (K =
        background), ``label_weights``, (N, P_l, 4) ``targets`` in the head's space and their
        ``target_weights``; plus ``avg_factor``, the divisor the head's own classification loss
        uses. ``assigned``: what the head's own ``get_targets`` returned in its loss this step
        (:func:`keep_assignment`), used instead of assigning again."""
        head = self.head
        N = len(gt_instances)
        if assigned is not None:  # the head's own assignment and the anchors it was given
            out, first_image = assigned['out'], assigned['anchors']
        else:
            featmap_sizes = [s.shape[-2:] for s in cls_scores]
            anchors, valid_flags = head.get_anchors(featmap_sizes, img_metas,
                                                    device=cls_scores[0].device)
            # per level, before get_targets: ATSS / GFL concatenate the levels in place
            first_image = list(anchors[0])
            out = head.get_targets(anchors, valid_flags, gt_instances, img_metas)
        level_anchors = [a[None].expand(N, -1, -1) for a in first_image]
        if type(head).get_targets is AnchorHead.get_targets:
            labels, label_weights, targets, target_weights, avg_factor = out[:5]
        else:  # ATSS, GFL and their kin give the anchors first
            _, labels, label_weights, targets, target_weights, avg_factor = out[:6]
        return dict(labels=labels, label_weights=[w.float() for w in label_weights],
                    targets=self.encode_targets(level_anchors, targets),
                    target_weights=target_weights, avg_factor=max(float(avg_factor), 1.0))

    def encode_targets(self, level_anchors, targets):
        """The assigner's targets in the head's space (already deltas here)."""
        return targets


class DistanceAnchorFamily(AnchorFamily):
    """Anchor heads that regress decoded boxes (ATSS, ``reg_decoded_bbox=True``): the box as
    distances from the anchor's centre, in stride units (``'distance'``)."""

    space = 'distance'

    def regression(self, bbox_preds, featmap_sizes):
        out = []
        for pred, prior, stride in zip(bbox_preds,
                                       self.priors(featmap_sizes, bbox_preds[0].device),
                                       self.strides):
            deltas = flatten_level(pred, self.num_priors)
            N, P, _ = deltas.shape
            boxes = self.head.bbox_coder.decode(prior.repeat(N, 1), deltas.reshape(-1, 4))
            out.append(bbox2distance(self.centres(prior).repeat(N, 1), boxes)
                       .reshape(N, P, 4) / stride)
        return out

    def decode(self, bbox_preds, featmap_sizes):
        out = []
        for dist, prior, stride in zip(self.regression(bbox_preds, featmap_sizes),
                                       self.priors(featmap_sizes, bbox_preds[0].device),
                                       self.strides):
            centres = self.centres(prior)[None]
            d = dist * stride
            out.append(torch.cat([centres - d[..., :2], centres + d[..., 2:]], dim=-1))
        return out

    def encode_targets(self, level_anchors, targets):
        return [bbox2distance(self.centres(a.reshape(-1, 4)), t.reshape(-1, 4)).reshape(t.shape)
                / stride for a, t, stride in zip(level_anchors, targets, self.strides)]


class GFLFamily(DistanceAnchorFamily):
    """GFL: each edge a distribution over ``reg_max + 1`` bins, its box the distribution's
    expectation (``integral``), distances in stride units; targets clamped below ``reg_max`` as
    GFL encodes them."""

    bins = True

    def regression(self, bbox_preds, featmap_sizes):
        out = []
        for pred in bbox_preds:
            rows = flatten_level(pred, self.num_priors)  # (N, P, 4 * (reg_max + 1))
            out.append(self.head.integral(rows.reshape(-1, rows.shape[-1])).reshape(
                rows.shape[0], rows.shape[1], 4))
        return out

    def encode_targets(self, level_anchors, targets):
        return [d.clamp(max=self.head.reg_max - 0.01)
                for d in super().encode_targets(level_anchors, targets)]


class PointFamily(DistanceAnchorFamily):
    """FCOS-style point heads: one prior per location, the box as distances from the point
    (``'distance'``). FCOS with ``norm_on_bbox`` predicts stride units in training and multiplies
    them by the stride in eval mode (a frozen teacher); without it, always pixels."""

    def priors(self, featmap_sizes, device):
        """One (H*W, 4) per level: (x, y, stride, stride) of the points."""
        return self.head.prior_generator.grid_priors(featmap_sizes, device=device,
                                                     with_stride=True)

    def centres(self, priors):
        return priors[:, :2]

    def regression(self, bbox_preds, featmap_sizes):
        norm = self.head.norm_on_bbox and self.head.training
        return [flatten_level(pred, 1) if norm else flatten_level(pred, 1) / stride
                for pred, stride in zip(bbox_preds, self.strides)]

    def targets(self, cls_scores, gt_instances, img_metas, assigned=None):
        head = self.head
        N = len(gt_instances)
        featmap_sizes = [s.shape[-2:] for s in cls_scores]
        if assigned is None:
            points = head.prior_generator.grid_priors(featmap_sizes,
                                                      device=cls_scores[0].device)
            out = head.get_targets(points, gt_instances)
        else:
            out = assigned['out']
        labels, targets = out[:2]
        labels = [lb.reshape(N, -1) for lb in labels]
        targets = [t.reshape(N, -1, 4) for t in targets]
        if not head.norm_on_bbox:
            targets = [t / s for t, s in zip(targets, self.strides)]
        num_pos = sum(((lb >= 0) & (lb < head.num_classes)).sum() for lb in labels)
        return dict(labels=labels,
                    label_weights=[torch.ones_like(lb, dtype=torch.float) for lb in labels],
                    targets=targets, target_weights=[torch.ones_like(t) for t in targets],
                    avg_factor=max(float(num_pos), 1.0))


def family_of(head):
    """The family of a dense head: :class:`PointFamily` (FCOS), :class:`GFLFamily`,
    :class:`DistanceAnchorFamily` (ATSS and other ``reg_decoded_bbox`` anchor heads) or
    :class:`AnchorFamily`; another head is an error that names it."""
    if isinstance(head, FCOSHead):
        return PointFamily(head)
    if isinstance(head, GFLHead):
        return GFLFamily(head)
    if isinstance(head, AnchorHead):
        return DistanceAnchorFamily(head) if getattr(head, 'reg_decoded_bbox', False) \
            else AnchorFamily(head)
    raise NotImplementedError(
        f'{type(head).__name__}: head-level rows are available for AnchorHead-based heads '
        '(RetinaNet, RPN, ATSS, GFL, ...) and FCOS-style point heads.')


# ------------------------------------------------------------------ a head layer by layer
class HeadLayers:
    """The layers of a dense head whose forward is two towers of ConvModules (``cls_convs``,
    ``reg_convs``) and output convs: the classification and box outputs (``cls``, ``reg``),
    whether the box output goes through the level's ``Scale``, the centerness output and the
    tower feeding it, and FCOS's box activation. What runs one branch alone
    (:func:`head_branches`) and CrossKD's cross head. mmdet 3.3's ``forward_single`` of each, read
    there; a subclass that overrides ``forward`` or ``forward_single`` is not
    (:func:`head_layers`)."""

    def __init__(self, cls, reg, scaled, centerness=None, fcos=False):
        self.cls, self.reg, self.scaled = cls, reg, scaled
        self.centerness, self.fcos = centerness, fcos

    def centerness_branch(self, head):
        """The tower whose feature the centerness conv reads: ``'reg'`` or ``'cls'``."""
        return 'reg' if not self.fcos or head.centerness_on_reg else 'cls'

    def cls_out(self, head, feat):
        return getattr(head, self.cls)(feat)

    def reg_out(self, head, feat, level):
        """The level's box prediction from the box tower's last feature, as ``forward_single``
        gives it (FCOS: positive distances, in pixels for a head in eval mode with
        ``norm_on_bbox``)."""
        pred = getattr(head, self.reg)(feat)
        if not self.scaled:
            return pred
        pred = head.scales[level](pred).float()
        if not self.fcos:
            return pred
        if not head.norm_on_bbox:
            return pred.exp()
        pred = pred.clamp(min=0)
        return pred if head.training else pred * head.strides[level]


#: {a head class: its :class:`HeadLayers`}
HEAD_LAYERS = {
    GFLHead: HeadLayers('gfl_cls', 'gfl_reg', scaled=True),
    RetinaHead: HeadLayers('retina_cls', 'retina_reg', scaled=False),
    ATSSHead: HeadLayers('atss_cls', 'atss_reg', scaled=True, centerness='atss_centerness'),
    FCOSHead: HeadLayers('conv_cls', 'conv_reg', scaled=True, centerness='conv_centerness',
                         fcos=True),
}


def head_layers(head):
    """The head's :class:`HeadLayers`, or None for a head not known to be two towers: one of
    :data:`HEAD_LAYERS` or a subclass that keeps both its ``forward`` and its ``forward_single``
    and has its output layers (RTMDet's and TOOD's heads keep ATSS's ``forward_single`` but not
    its ``forward`` or layers)."""
    for cls, layers in HEAD_LAYERS.items():
        kind = type(head)
        if kind.forward_single is cls.forward_single and kind.forward is cls.forward:
            names = (layers.cls, layers.reg) + ((layers.centerness,) if layers.centerness else ())
            return layers if all(hasattr(head, n) for n in names) else None
    return None


def head_branches(head, feats, cls=True, reg=True):
    """The dense head's ``(cls_scores, bbox_preds)`` on ``feats`` (one map per level), with
    only the branches asked for run where the head allows it (:data:`HEAD_LAYERS`: their towers
    are independent), the other given as None; other heads run whole. What a frozen teacher
    saves when its terms read only one branch (LD reads the teacher's box bins, not its
    scores)."""
    layers = head_layers(head)
    if layers is None or (cls and reg):
        return tuple(head(feats)[:2])
    cls_scores, bbox_preds = [] if cls else None, [] if reg else None
    for lv, x in enumerate(feats):
        if cls:
            feat = x
            for conv in head.cls_convs:
                feat = conv(feat)
            cls_scores.append(layers.cls_out(head, feat))
        if reg:
            feat = x
            for conv in head.reg_convs:
                feat = conv(feat)
            bbox_preds.append(layers.reg_out(head, feat, lv))
    return cls_scores, bbox_preds


def keep_assignment(head, capture):
    """Makes this instance's ``get_targets`` keep, while ``capture`` captures, what the head's
    own loss assigned (as ``'assigned'``): the rows then reuse it instead of running the
    assigner a second time. The head's loss gets what it always got; mmdet's code is not
    changed. A bound method on the instance, so a deep copy of the model keeps its own."""
    head._mmkd_capture = capture
    head.get_targets = types.MethodType(_get_targets_kept, head)


def _get_targets_kept(head, *args, **kwargs):
    # an anchor head's per-level anchors of the first image, kept before the call: ATSS / GFL
    # concatenate the levels of anchor_list in place
    anchors = None
    if isinstance(head, AnchorHead):
        anchor_list = args[0] if args else kwargs['anchor_list']
        anchors = list(anchor_list[0])
    out = type(head).get_targets(head, *args, **kwargs)
    head._mmkd_capture.store('assigned', dict(out=out, anchors=anchors))
    return out


def head_space(head):
    """``'delta'`` or ``'distance'`` (see the module docstring)."""
    return family_of(head).space


def check_dense_heads_match(s_fam, t_fam, s_cls, t_cls, featmap_sizes):
    """Student and teacher must predict at the same priors, with the same classes and in the same
    regression space; raises a ValueError naming both heads and what differs."""
    s_head, t_head = s_fam.head, t_fam.head
    names = f"the student's {type(s_head).__name__} and the teacher's {type(t_head).__name__}"
    if s_fam.space != t_fam.space:
        raise ValueError(f'{names} regress in different spaces ({s_fam.space} vs '
                         f'{t_fam.space}): head-level terms need the same targets.')
    if s_fam.space == 'delta':
        coders = [(type(h.bbox_coder).__name__, tuple(getattr(h.bbox_coder, 'means', ())),
                   tuple(getattr(h.bbox_coder, 'stds', ()))) for h in (s_head, t_head)]
        if coders[0] != coders[1]:
            raise ValueError(f'{names} encode deltas differently (bbox_coder type, means, '
                             f'stds: {coders[0]} vs {coders[1]}); give both the same coder.')
    device = s_cls[0].device
    s_priors = s_fam.priors(featmap_sizes, device)
    t_priors = t_fam.priors(featmap_sizes, device)
    for lv, (sp, tp) in enumerate(zip(s_priors, t_priors)):
        same = sp.shape == tp.shape and (
            torch.equal(s_fam.centres(sp), t_fam.centres(tp))
            if s_fam.space == 'distance' else torch.equal(sp, tp))
        if not same:
            raise ValueError(f'{names} do not predict at the same anchors / points on level '
                             f'{lv}: priors {tuple(sp.shape)} vs {tuple(tp.shape)} (strides '
                             f'{s_fam.strides} vs {t_fam.strides}); give both heads the same '
                             'prior generator.')
    if len(s_cls) != len(t_cls) or any(a.shape != b.shape for a, b in zip(s_cls, t_cls)):
        raise ValueError(f'{names} give classification maps of different shapes: '
                         f'{[tuple(c.shape) for c in s_cls]} vs '
                         f'{[tuple(c.shape) for c in t_cls]}.')


def centerness_avg_factor(head, pos_targets):
    """FCOS's divisor of its box loss: the sum of the positives' centerness targets (their
    distances to the four edges, in any one unit), or 1 when there is no positive (FCOS divides
    by at least 1e-6 then)."""
    require_fcos(head)
    if not len(pos_targets):
        return 1.0
    return max(float(head.centerness_target(pos_targets).sum()), 1e-6)


def require_fcos(head):
    if not isinstance(head, FCOSHead):
        raise ValueError(f'centerness_avg_factor is the divisor of an FCOS head\'s box loss; the '
                         f"student's head is {type(head).__name__} (use cls_avg_factor).")


def require_bins(head):
    if not family_of(head).bins:
        raise ValueError(f"bin inputs ({', '.join(BIN_NAMES)}) need a student head that "
                         f"classifies box edges over bins (GFLHead); the student's is "
                         f'{type(head).__name__}.')


# ------------------------------------------------------------------------------ the rows
#: {student head: the (teacher head, shapes) already checked to match}
_MATCHED = weakref.WeakKeyDictionary()


def dense_rows(s_head, t_head, s_out, t_out, gt_instances, img_metas, wants=STUDENT_ROWS,
               vlr_alpha=0.25, vlr_mode='reference', assigned=None, cross_out=None,
               t_centerness=None):
    """The vocabulary's dense-head rows that ``wants`` names (``docs/design.md``), and only
    those: one assignment by the student head's own assigner, then each row from it. The
    teacher's rows (``t_pos_reg``, ``t_cls_rows``, ``t_pos_cls``, the every-prior rows of
    CrossKD: same priors, classes and space required; LD's ``t_pos_bins`` / ``t_vlr_bins``: see
    :func:`bin_rows`) read ``t_out``, the cross-head rows ``cross_out`` (the cross head's
    ``(cls_scores, bbox_preds, centernesses)``, in the teacher head's encoding);
    ``t_pos_centerness`` reads ``t_centerness``, the teacher's centerness maps.
    ``assigned``: the student head's own assignment of this step (:func:`keep_assignment`)."""
    s_cls, s_reg = s_out
    featmap_sizes = [c.shape[-2:] for c in s_cls]
    wants = set(wants)
    s_fam = family_of(s_head)
    t_fam = None
    # the teacher's family only when its rows are asked
    if wants & {'t_pos_reg', 't_cls_rows', 't_pos_centerness', 's_cross_pos_centerness',
                *EVERY_PRIOR_NAMES}:
        t_fam = family_of(t_head)
        checked = _MATCHED.setdefault(s_head, set())
        key = (id(t_head), tuple(tuple(c.shape) for c in s_cls),
               tuple(tuple(c.shape) for c in t_out[0]))
        if key not in checked:  # once per pair of heads and shapes, not every step
            check_dense_heads_match(s_fam, t_fam, s_cls, t_out[0], featmap_sizes)
            checked.add(key)
    if wants & {*BIN_NAMES, *VLR_NAMES}:
        require_bins(s_head)
    with torch.no_grad():
        tg = s_fam.targets(s_cls, gt_instances, img_metas, assigned)
    labels = torch.cat(tg['labels'], dim=1).reshape(-1)
    pos = (labels >= 0) & (labels < s_head.num_classes)

    def cls_rows(maps):
        return level_rows(maps, s_fam.num_priors, s_head.cls_out_channels)

    def pos_reg(fam, preds):
        return torch.cat(fam.regression(preds, featmap_sizes), 1).reshape(-1, 4)[pos]

    def cat_pos(values, width):
        return torch.cat(values, dim=1).reshape(-1, width)[pos]

    # each row: how to compute it, called only when wanted
    make = {
        'pos_mask': lambda: [(lb >= 0) & (lb < s_head.num_classes) for lb in tg['labels']],
        'labels': lambda: tg['labels'],
        'bbox_targets': lambda: tg['targets'],
        'num_pos': lambda: max(float(pos.sum()), 1.0),
        's_pos_reg': lambda: pos_reg(s_fam, s_reg),
        'pos_reg_targets': lambda: cat_pos(tg['targets'], 4),
        'pos_reg_weights': lambda: cat_pos(tg['target_weights'], 4),
        's_cls_rows': lambda: cls_rows(s_cls),
        'cls_row_weights': lambda: torch.cat(tg['label_weights'], dim=1).reshape(-1),
        'cls_avg_factor': lambda: tg['avg_factor'],
        'pos_level_weights': lambda: per_level_mean_weights(tg['labels'], pos),
        's_pos_cls': lambda: cls_rows(s_cls)[pos],
        's_boxes': lambda: torch.cat(s_fam.decode(s_reg, featmap_sizes), 1).reshape(-1, 4),
        'centerness_avg_factor': lambda: centerness_avg_factor(
            s_head, cat_pos(tg['targets'], 4)),
        's_cross_pos_centerness': lambda: level_rows(cross_out[2], s_fam.num_priors, 1)[pos],
    }
    rows = {name: fn() for name, fn in make.items() if name in wants}
    if wants & set(EVERY_PRIOR_NAMES):
        rows.update(every_prior_rows(t_fam, t_out, cross_out, featmap_sizes, wants,
                                     torch.cat(tg['label_weights'], dim=1).reshape(-1)))
    with torch.no_grad():
        if 't_pos_reg' in wants:
            rows['t_pos_reg'] = pos_reg(t_fam, t_out[1])
        if 't_cls_rows' in wants:
            rows['t_cls_rows'] = cls_rows(t_out[0])
        if 't_pos_cls' in wants:
            rows['t_pos_cls'] = cls_rows(t_out[0])[pos]
        if 't_pos_centerness' in wants:
            rows['t_pos_centerness'] = level_rows(t_centerness, s_fam.num_priors, 1)[pos]
    if wants & set(BIN_NAMES):
        teach = 't_pos_bins' in wants
        rows.update(bin_rows(s_head, t_head if teach else None, s_reg,
                             t_out[1] if teach else None, s_cls, pos,
                             t_out[0] if teach else None))
    if wants & set(VLR_NAMES):
        anchors = s_fam.priors(featmap_sizes, s_cls[0].device)
        vlr, vlr_weights = vlr_mask(anchors, gt_instances, pos, vlr_alpha, mode=vlr_mode)
        teach = 't_vlr_bins' in wants
        region = bin_rows(s_head, t_head if teach else None, s_reg, t_out[1] if teach else None,
                          s_cls, vlr, t_out[0] if teach else None)
        rows.update({'s_vlr_bins': region['s_pos_bins'],
                     'vlr_bin_weights': region['pos_bin_weights'] if vlr_mode == 'score'
                     else vlr_weights[vlr].repeat_interleave(4),
                     'num_vlr': max(float(vlr.sum()), 1.0)})
        if 't_pos_bins' in region:
            rows['t_vlr_bins'] = region['t_pos_bins']
    return rows


#: CrossKD's rows of every prior: the cross head's predictions and the teacher's
EVERY_PRIOR_NAMES = ('s_cross_cls_rows', 't_score_weights', 's_cross_bins', 't_bins',
                     't_score_bin_weights', 't_score_bin_avg_factor', 's_cross_boxes', 't_boxes')


def every_prior_rows(t_fam, t_out, cross_out, featmap_sizes, wants, label_weights):
    """CrossKD's rows (those of ``wants``), every prior of every image and level in the order
    of ``s_cls_rows``: the cross head's and the teacher's predictions, both in the teacher
    head's encoding, and the teacher's largest class score as the box terms' weight (0 where
    ``label_weights``, the student head's classification weights, are 0)."""
    t_head = t_fam.head
    A = t_fam.num_priors

    def cls_rows(maps):
        return level_rows(maps, A, t_head.cls_out_channels)

    def bin_rows_of(preds):
        if not t_fam.bins:
            raise ValueError(f"s_cross_bins / t_bins are GFL edge bins; the teacher's "
                             f'{type(t_head).__name__} has none (read s_cross_boxes / t_boxes).')
        return level_rows(preds, A, t_head.reg_max + 1)

    def boxes(preds):
        return torch.cat(t_fam.decode(preds, featmap_sizes), 1).reshape(-1, 4)

    rows = {}
    if 's_cross_cls_rows' in wants:
        rows['s_cross_cls_rows'] = cls_rows(cross_out[0])
    if 's_cross_bins' in wants:
        rows['s_cross_bins'] = bin_rows_of(cross_out[1])
    if 's_cross_boxes' in wants:
        rows['s_cross_boxes'] = boxes(cross_out[1])
    with torch.no_grad():
        score = cls_rows(t_out[0]).max(dim=1).values.sigmoid() * (label_weights > 0)
        bin_weights = score.repeat_interleave(4)
        teacher = {
            't_score_weights': lambda: score,
            't_bins': lambda: bin_rows_of(t_out[1]),
            't_score_bin_weights': lambda: bin_weights,
            't_score_bin_avg_factor': lambda: float(bin_weights.sum()),
            't_boxes': lambda: boxes(t_out[1]),
        }
        rows.update({name: fn() for name, fn in teacher.items() if name in wants})
    return rows


class RCNNFamily:
    """The RCNN box head of a two-stage student and teacher (Faster R-CNN and kin): the rows of
    the RoIs the student's RoI head samples, its own assignment of them, and the teacher's box
    head run on the same RoIs. Regression space ``'delta'`` (the box head's ``bbox_coder``).

    The mmdet 3.3 calls it relies on: ``bbox_head.loss_and_target`` (its arguments hold the
    sampled RoIs and the head's outputs, its result the targets), wrapped on the student's box
    head instance once, mmdet's code unchanged; and ``StandardRoIHead._bbox_forward``, private,
    the one call that runs a box head on given RoIs (RoI extraction, shared head, box head).
    """

    space = 'delta'

    def __init__(self, student, teacher, capture):
        roi_head = getattr(student, 'roi_head', None)
        bbox_head = getattr(roi_head, 'bbox_head', None)
        if bbox_head is None or not hasattr(bbox_head, 'loss_and_target') or \
                not hasattr(getattr(teacher, 'roi_head', None), 'bbox_head'):
            raise ValueError('rcnn_* inputs need a two-stage student and teacher with an RCNN '
                             f'box head (roi_head.bbox_head); got {type(student).__name__} '
                             f'and {type(teacher).__name__}.')
        self.student, self.teacher = student, teacher
        signature = inspect.signature(bbox_head.loss_and_target)
        original = bbox_head.loss_and_target

        def loss_and_target(*args, **kwargs):
            out = original(*args, **kwargs)
            if capture.active is not None:
                given = signature.bind(*args, **kwargs).arguments
                capture.store('rcnn', dict(cls_score=given['cls_score'],
                                           bbox_pred=given['bbox_pred'], rois=given['rois'],
                                           targets=out['bbox_targets']))
            return out

        bbox_head.loss_and_target = loss_and_target

    def rows(self, captured, t_neck):
        """The vocabulary's RCNN rows of this step: ``captured``, what the student's box head
        saw (the capture's ``'rcnn'``); ``t_neck``, the teacher's neck outputs. Run by the
        caller under ``no_grad`` and the teacher's precision."""
        t_out = self.teacher.roi_head._bbox_forward(t_neck, captured['rois'])
        return rcnn_rows(self.student.roi_head.bbox_head, captured,
                         t_out['cls_score'], t_out['bbox_pred'])


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
    distribution re-binned (:func:`mmkd.structures.rebin_distribution`). A teacher that
    regresses continuous offsets (FCOS, ATSS, RetinaNet) gives its box at each location (with
    several anchors per location, the box of its most confident anchor, from ``t_cls``), as
    distances from the student's prior centre in the student's stride units, spread over the two
    nearest bins (:func:`mmkd.structures.distances_to_bins`).
    """
    require_bins(s_head)
    s_fam = family_of(s_head)
    n = s_head.reg_max + 1
    featmap_sizes = [c.shape[-2:] for c in s_cls]
    s_bins = level_rows(s_reg, 1, 4 * n)[pos]
    weights = level_rows(s_cls, 1, s_head.cls_out_channels)[pos].detach().sigmoid().amax(dim=1)
    rows = {'s_pos_bins': s_bins.reshape(-1, n), 'pos_bin_weights': weights.repeat_interleave(4),
            'pos_bin_avg_factor': max(4 * float(weights.sum()), 1e-6)}
    if t_head is None:
        return rows
    t_fam = family_of(t_head)
    with torch.no_grad():
        if t_fam.bins:
            n_t = t_head.reg_max + 1
            t_bins = level_rows(t_reg, 1, 4 * n_t)[pos].reshape(-1, n_t)
            if n_t != n:
                t_bins = rebin_distribution(t_bins.softmax(dim=1), s_head.reg_max).log()
        else:
            if t_fam.strides != s_fam.strides:
                raise ValueError(
                    f"the teacher's {type(t_head).__name__} predicts on strides "
                    f'{t_fam.strides}; a continuous teacher for the student\'s '
                    f'{type(s_head).__name__} needs its strides {s_fam.strides}.')
            boxes = torch.cat(t_fam.decode(t_reg, featmap_sizes), 1)  # (N, HW*A, 4)
            a_t = t_fam.num_priors
            if a_t > 1:
                # several anchors per location (RetinaNet): the box of the teacher's most
                # confident anchor at each location
                scores = torch.cat([flatten_level(c, a_t) for c in t_cls], 1).amax(dim=2)
                N = boxes.shape[0]
                best = scores.reshape(N, -1, a_t).argmax(dim=2)  # (N, HW)
                boxes = boxes.reshape(N, -1, a_t, 4).gather(
                    2, best[..., None, None].expand(-1, -1, 1, 4)).squeeze(2)
            boxes = boxes.reshape(-1, 4)[pos]
            priors = s_fam.priors(featmap_sizes, boxes.device)
            N = s_cls[0].shape[0]
            centres = torch.cat([s_fam.centres(p) for p in priors])[None].expand(
                N, -1, -1).reshape(-1, 2)[pos]
            strides = torch.cat([p.new_full((len(p),), float(s)) for p, s in
                                 zip(priors, s_fam.strides)])[None].expand(
                N, -1).reshape(-1)[pos]
            dist = bbox2distance(centres, boxes) / strides[:, None]
            t_bins = distances_to_bins(dist, s_head.reg_max).log()
    rows['t_pos_bins'] = t_bins
    return rows
