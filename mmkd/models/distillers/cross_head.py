"""CrossKD's cross-head predictions: the student's head features, taken after one layer of its
towers, continue through the teacher's remaining head layers (Wang et al., "CrossKD: Cross-Head
Knowledge Distillation for Object Detection", CVPR 2024, arXiv:2306.11369; reference code
github.com/jbwang1997/CrossKD, ``CrossKDGFL`` / ``CrossKDRetinaNet``).

For a head whose classification and box towers are ``stacked_convs`` ConvModules followed by one
output conv each (GFL, RetinaNet, ATSS, FCOS: ``head_rows.HEAD_LAYERS``), and ``layer`` = i:

1. the student's tower features after its i-th ConvModule (conv, norm and activation; its FPN
   level for i = 0), kept by a hook while the student's own loss runs. The reference code means
   to keep them before the activation, but mmcv's ReLU works in place on the tensor it kept, so
   what it aligns is the activated feature, on both sides; the published numbers come from that,
   and mmkd does the same;
2. a 1x1 adapter when the student's channels differ from the teacher's (mmkd's addition);
3. each channel standardised over (N, H, W) and given the teacher's mean and standard
   deviation at the same layer (the reference ``align_scale``), then the teacher's activation
   once more (not for i = 0), as the reference;
4. the teacher's convs i+1 ... and its output conv (and its per-level ``Scale``: GFL, ATSS,
   FCOS; FCOS's box activation as the teacher, in eval mode, applies it); a head with a
   centerness output gives the cross centerness from the tower that feeds it (ATSS: the box
   tower; FCOS: the classification tower unless ``centerness_on_reg``).

The teacher's layers are frozen (no parameter of theirs has a gradient), but the graph runs
through them, so the KD terms on these predictions reach the student's head, neck and backbone.
The mmdet 3.3 attributes relied on: the heads' ``cls_convs`` / ``reg_convs`` (mmcv ConvModules,
``forward(x, activate=False)``, ``with_activation``, ``activate``) and the output layers named
in ``head_rows.HEAD_LAYERS``.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from .head_rows import head_layers


def align_scale(s_feat, t_feat, eps=1e-6):
    """Each channel of ``s_feat`` (N, C, H, W) standardised over (N, H, W), then given the mean
    and standard deviation of the same channel of ``t_feat`` (no gradient reaches it). Unbiased
    standard deviations, as the reference; a single position has a spread of 0."""
    C = s_feat.shape[1]
    correction = 1 if s_feat.numel() // C > 1 else 0
    s_rows = s_feat.transpose(0, 1).reshape(C, -1)
    t_rows = t_feat.detach().transpose(0, 1).reshape(C, -1)
    s_std, s_mean = torch.std_mean(s_rows, dim=1, correction=correction)
    t_std, t_mean = torch.std_mean(t_rows, dim=1, correction=correction)

    def per_channel(x):
        return x.view(1, C, 1, 1)
    return (s_feat - per_channel(s_mean)) / (per_channel(s_std) + eps) * per_channel(t_std) \
        + per_channel(t_mean)


def activated(conv, x):
    """``conv``'s activation on ``x``, leaving ``x`` as it is (mmcv's ReLU works in place)."""
    if not conv.with_activation:
        return x
    if isinstance(conv.activate, nn.ReLU):
        return F.relu(x)
    return conv.activate(x.clone())


def output_layers(head, who):
    layers = head_layers(head)
    if layers is None:
        raise NotImplementedError(
            f"CrossKD's cross-head inputs (s_cross_*) run the {who}'s head layer by layer; its "
            f'{type(head).__name__} is not one of the heads that is known to be two towers of '
            f'ConvModules and output convs (GFLHead, RetinaHead, ATSSHead, FCOSHead).')
    return layers


class CrossHead(nn.Module):
    """The student's tower features through the teacher's remaining head (see the module).

    Args:
        s_head, t_head: the student's and the teacher's dense heads.
        layer (int): how many of the towers' convs are the student's (CrossKD's
            ``reused_teacher_head_idx``: 3 in the reference GFL, RetinaNet and ATSS configs, 2
            for FCOS); 0 takes the FPN levels themselves.

    The teacher's and the cross head's outputs: ``(cls_scores, bbox_preds, centernesses)``,
    one map per level each, ``centernesses`` None for a head without (GFL, RetinaNet).
        capture (Capture): the distiller's, keeps the student's features during its loss.

    Holds the adapters (trained with the student, not exported), no other parameter.
    """

    def __init__(self, s_head, t_head, layer, capture):
        super().__init__()
        output_layers(s_head, 'student')
        self.t_layers = output_layers(t_head, 'teacher')
        t_convs = len(t_head.cls_convs)
        if not isinstance(layer, int) or not 0 <= layer <= min(t_convs, len(s_head.cls_convs)):
            raise ValueError(
                f'model.cross_layer={layer!r}: the student\'s head has {len(s_head.cls_convs)} '
                f'convs per tower and the teacher\'s {t_convs}; give an integer from 0 (the FPN '
                f'levels) to {min(t_convs, len(s_head.cls_convs))}.')
        self.layer = layer
        # the teacher's head is the distiller's; a plain attribute, not a second registration
        self.__dict__['t_head'] = t_head
        s_ch = s_head.feat_channels if layer else s_head.in_channels
        t_ch = t_head.feat_channels if layer else t_head.in_channels
        # no bias: the alignment removes each channel's mean, a bias would get no gradient
        self.adapters = nn.ModuleDict({
            branch: nn.Conv2d(s_ch, t_ch, kernel_size=1, bias=False) for branch in ('cls', 'reg')
        }) if s_ch != t_ch else None
        if layer:
            for branch, convs in (('cls', s_head.cls_convs), ('reg', s_head.reg_convs)):
                capture.keep(convs[layer - 1], f's_cross_{branch}', many=True)
        else:
            capture.keep(s_head, 's_cross_levels', take=lambda args, out: args[0], pre=True)

    def student_features(self, captured):
        """The student's kept features: ``{'cls': [per level], 'reg': [per level]}``."""
        if self.layer:
            return dict(cls=captured['s_cross_cls'], reg=captured['s_cross_reg'])
        levels = list(captured['s_cross_levels'])
        return dict(cls=levels, reg=levels)

    @torch.no_grad()
    def teacher(self, feats):
        """The teacher head's ``(cls_scores, bbox_preds, centernesses)`` on its FPN levels
        ``feats``, and its tower features at the layer (``{'cls': [...], 'reg': [...]}``)."""
        head = self.t_head
        kept = dict(cls=[], reg=[])
        last = dict(cls=[], reg=[])
        for x in feats:
            for branch in ('cls', 'reg'):
                feat = x
                if not self.layer:
                    kept[branch].append(x)
                for i, conv in enumerate(getattr(head, f'{branch}_convs')):
                    feat = conv(feat)
                    if i == self.layer - 1:
                        kept[branch].append(feat)
                last[branch].append(feat)
        return (*self._outputs(last), kept)

    def forward(self, s_feats, t_feats):
        """The cross-head ``(cls_scores, bbox_preds, centernesses)``, one map per level, from
        the student's and the teacher's tower features at the layer (``student_features`` /
        ``teacher``)."""
        head = self.t_head
        last = dict(cls=[], reg=[])
        for branch in ('cls', 'reg'):
            convs = getattr(head, f'{branch}_convs')
            if len(s_feats[branch]) != len(t_feats[branch]):
                raise ValueError(
                    f"CrossKD: the student's head gave {len(s_feats[branch])} {branch} features "
                    f"at model.cross_layer={self.layer} and the teacher's "
                    f'{len(t_feats[branch])}: the two must have the same FPN levels, and the '
                    "student's head must run once in its loss.")
            for s, t in zip(s_feats[branch], t_feats[branch]):
                if self.adapters is not None:
                    s = self.adapters[branch](s)
                feat = align_scale(s, t)
                if self.layer:
                    feat = activated(convs[self.layer - 1], feat)
                for conv in convs[self.layer:]:
                    feat = conv(feat)
                last[branch].append(feat)
        return self._outputs(last)

    def _outputs(self, last):
        """The teacher's output layers on each level's last tower features."""
        head, layers = self.t_head, self.t_layers
        cls_scores = [layers.cls_out(head, f) for f in last['cls']]
        bbox_preds = [layers.reg_out(head, f, lv) for lv, f in enumerate(last['reg'])]
        centernesses = None
        if layers.centerness:
            conv = getattr(head, layers.centerness)
            centernesses = [conv(f) for f in last[layers.centerness_branch(head)]]
        return cls_scores, bbox_preds, centernesses
