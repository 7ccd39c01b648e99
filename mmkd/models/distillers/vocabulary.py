"""The vocabulary of a distiller: every name a KD term can read, in one table per task.

Each name is one :class:`Entry`: what it is (its shape), whether it holds one tensor per level,
and the stages of the step that must run to produce it. The distiller derives from the names its
terms read, once, which stages run (:class:`Wants`), so a step reads ``if self.wants.targets:``
and adding a name is one entry in one table.
"""
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Entry:
    """One vocabulary name: ``doc`` (what it is, its shape), ``per_level`` (a sequence with one
    tensor per level or stage, the terms called once per level), ``adaptable`` (a student feature
    whose teacher counterpart an adapter aligns it to), ``stages`` (what the step must run to
    give it), ``resized`` (a teacher map resized bilinearly to the student's H x W when a term
    reads both and their sizes differ: a teacher of another output stride)."""
    doc: str
    per_level: bool = False
    adaptable: bool = False
    stages: frozenset = field(default_factory=frozenset)
    resized: bool = False


def entry(doc, *stages, per_level=False, adaptable=False, resized=False):
    return Entry(doc, per_level, adaptable, frozenset(stages), resized)


class Wants:
    """The stages a distiller's terms need, derived once from the names they read:
    ``wants.teacher_head`` is True when some name needs the teacher's head to run. A stage no
    entry of the table names is an AttributeError (a misspelt stage in the code)."""

    def __init__(self, table, names):
        self.names = frozenset(names)
        self.known = frozenset().union(*(e.stages for e in table.values()))
        self.stages = frozenset().union(*(table[n].stages for n in self.names if n in table))

    def __getattr__(self, stage):
        if stage in ('names', 'known', 'stages'):
            raise AttributeError(stage)
        if stage not in self.known:
            raise AttributeError(f'no vocabulary entry needs a stage {stage!r}; the stages are '
                                 f'{sorted(self.known)}')
        return stage in self.stages

    def __repr__(self):
        return f'Wants({sorted(self.stages)})'


#: the input and the backbones, the same in every task with a teacher
BACKBONE = {
    'img': entry(
        'the batch input (N, 3, H, W), normalised and padded'),
    's_backbone': entry(
        'student backbone outputs, one (N, C, H, W) per stage',
        'student_backbone', per_level=True, adaptable=True),
    't_backbone': entry(
        'teacher backbone outputs, one (N, C, H, W) per stage',
        'teacher_backbone', per_level=True),
}

#: :class:`mmkd.DetectionDistiller`. Stages: the student's / teacher's backbone, neck and dense
#: head; ``targets``, the student's label assignment and the rows on it (``head_rows``);
#: ``bins`` / ``vlr``, GFL's edge bins and LD's valuable localization region among them;
#: ``rcnn``, the box head's rows on the student's RoIs; ``priors``, the student head's priors.
DETECTION = {
    **BACKBONE,
    's_neck': entry(
        'student neck outputs (FPN levels), one (N, C, H, W) per level',
        'student_neck', per_level=True, adaptable=True),
    't_neck': entry(
        'teacher neck outputs (FPN levels), one (N, C, H, W) per level',
        'teacher_neck', per_level=True),
    's_cls_scores': entry(
        'student dense-head classification logits, (N, A*K, H, W) per level',
        'student_head', per_level=True),
    't_cls_scores': entry(
        'teacher dense-head classification logits, (N, A*K, H, W) per level',
        'teacher_head', per_level=True),
    's_bbox_preds': entry(
        'student dense-head box regressions, (N, A*4, H, W) per level',
        'student_head', per_level=True),
    't_bbox_preds': entry(
        'teacher dense-head box regressions, (N, A*4, H, W) per level',
        'teacher_head', per_level=True),
    'pos_mask': entry(
        "positives of the student's assigner, (N, H*W*A) bool per level",
        'student_head', 'targets', per_level=True),
    'labels': entry(
        "labels of the student's assigner (K = background), (N, H*W*A) per level",
        'student_head', 'targets', per_level=True),
    'bbox_targets': entry(
        "regression targets in the student head's encoding, (N, H*W*A, 4) per level",
        'student_head', 'targets', per_level=True),
    'num_pos': entry(
        'the number of positive anchors in the batch (at least 1), a float',
        'student_head', 'targets'),
    'gt_bboxes': entry(
        'GT boxes, a list of N (k_i, 4) x1y1x2y2 in pixels of the padded input'),
    'gt_labels': entry(
        'GT labels, a list of N (k_i,)'),
    'img_shapes': entry(
        'a list of N (h, w): each image after resizing, before padding'),
    'batch_input_shape': entry(
        '(H, W) of the padded batch input'),
    's_pos_reg': entry(
        "student dense-head regression at the positives of the student's assigner, (P, 4) in "
        "the head's space (docs/design.md)",
        'student_head', 'targets'),
    't_pos_reg': entry(
        "teacher dense-head regression at the same locations, (P, 4) in the head's space",
        'student_head', 'targets', 'teacher_head'),
    'pos_reg_targets': entry(
        "the assigned regression targets of the positives, (P, 4) in the head's space",
        'student_head', 'targets'),
    'pos_reg_weights': entry(
        "the head's regression weights of the positives, (P, 4)",
        'student_head', 'targets'),
    's_cls_rows': entry(
        'student dense-head classification logits of every prior, (M, K), in the order of the'
        ' rows above',
        'student_head', 'targets'),
    't_cls_rows': entry(
        'teacher dense-head classification logits of every prior, (M, K)',
        'student_head', 'targets', 'teacher_head'),
    'cls_row_weights': entry(
        "the head's classification weights of every prior (sampled anchors of the RPN, valid "
        'anchors elsewhere), (M,)',
        'student_head', 'targets'),
    'cls_avg_factor': entry(
        "the divisor of the student head's own classification loss, a float",
        'student_head', 'targets'),
    's_pos_bins': entry(
        'student GFL edge-bin logits at the positives, (4P, reg_max + 1), the four edges of a'
        ' positive together',
        'student_head', 'targets', 'bins'),
    't_pos_bins': entry(
        "the teacher's edge distributions on the student's bins at the same positives, (4P, "
        'reg_max + 1): GFL logits, or log-probabilities when re-binned from another reg_max '
        'or built from a teacher that regresses continuous offsets (docs/ld.md)',
        'student_head', 'targets', 'teacher_head', 'bins'),
    'pos_bin_weights': entry(
        "the student's largest class score at each positive, repeated for its four edges, "
        '(4P,)',
        'student_head', 'targets', 'bins'),
    'pos_bin_avg_factor': entry(
        'the sum of pos_bin_weights, the divisor GFL and LD use, a float',
        'student_head', 'targets', 'bins'),
    's_vlr_bins': entry(
        "student GFL edge-bin logits in LD's valuable localization region, (4V, reg_max + 1):"
        " with vlr_mode='reference' the anchors whose DIoU with a GT lies in [vlr_alpha x "
        "thr, thr), thr that GT's ATSS threshold, positives included; with 'score' DIoU >= "
        'vlr_alpha x thr outside the positives',
        'student_head', 'targets', 'vlr'),
    't_vlr_bins': entry(
        "the teacher's edge distributions there, as t_pos_bins, (4V, reg_max + 1)",
        'student_head', 'targets', 'teacher_head', 'vlr'),
    'vlr_bin_weights': entry(
        "each VLR location's weight, (4V,): its largest IoU with the GTs it is in the region "
        "of (vlr_mode='reference'), or the student's largest class score ('score')",
        'student_head', 'targets', 'vlr'),
    'num_vlr': entry(
        'V, the number of VLR locations (at least 1), a float',
        'student_head', 'targets', 'vlr'),
    'pos_level_weights': entry(
        "1 / (the batch's positives on the level of each positive), (P,): a weight that turns"
        " a summed loss over the positives into LD's mean per level, summed over the levels",
        'student_head', 'targets'),
    's_pos_cls': entry(
        'student dense-head classification logits at the positives, (P, K)',
        'student_head', 'targets'),
    't_pos_cls': entry(
        "teacher dense-head classification logits at the student's positives, (P, K)",
        'student_head', 'targets', 'teacher_head'),
    's_rcnn_cls': entry(
        "student RCNN box-head logits on the student's sampled RoIs, (R, K+1)",
        'rcnn', 'teacher_neck'),
    't_rcnn_cls': entry(
        "teacher RCNN box-head logits on the student's sampled RoIs, (R, K+1)",
        'rcnn', 'teacher_neck'),
    'rcnn_label_weights': entry(
        'the weights of those RoIs in the box-head loss, (R,)',
        'rcnn', 'teacher_neck'),
    'rcnn_num_rois': entry(
        "R, the number of sampled RoIs (the box head's own divisor), a float",
        'rcnn', 'teacher_neck'),
    's_rcnn_pos_reg': entry(
        'student RCNN deltas of the positive RoIs, for their GT class, (P, 4)',
        'rcnn', 'teacher_neck'),
    't_rcnn_pos_reg': entry(
        'teacher RCNN deltas of the same RoIs and classes, (P, 4)',
        'rcnn', 'teacher_neck'),
    'rcnn_pos_reg_targets': entry(
        'the encoded targets of the positive RoIs, (P, 4)',
        'rcnn', 'teacher_neck'),
    'rcnn_pos_reg_weights': entry(
        'their regression weights, (P, 4)',
        'rcnn', 'teacher_neck'),
    'priors': entry(
        "the student dense head's priors per level, (H*W*A, 4) x1y1x2y2 in pixels of the "
        'padded input (same for every image): its anchors, or for a point head (FCOS, ...) '
        'the square of side 8 x stride centred on each point',
        'student_neck', 'priors', per_level=True),
    's_cross_cls_scores': entry(
        "CrossKD's cross-head classification logits: the student's head features after "
        "model.cross_layer convs through the teacher's remaining head layers, (N, A*K, H, W) "
        'per level (docs/crosskd.md)',
        'student_head', 'teacher_head', 'cross', per_level=True),
    's_cross_bbox_preds': entry(
        "the cross-head box regressions, in the teacher head's encoding, (N, A*4, H, W) per "
        'level',
        'student_head', 'teacher_head', 'cross', per_level=True),
    's_cross_cls_rows': entry(
        'the cross-head classification logits of every prior, (M, K), in the order of '
        's_cls_rows',
        'student_head', 'teacher_head', 'cross', 'targets'),
    't_score_weights': entry(
        "the sigmoid of the teacher's largest class logit at every prior, 0 where "
        'cls_row_weights is 0, (M,)',
        'student_head', 'teacher_head', 'targets'),
    's_cross_bins': entry(
        'the cross-head GFL edge-bin logits of every prior, (4M, reg_max + 1), the four edges '
        'of a prior together (a GFL teacher)',
        'student_head', 'teacher_head', 'cross', 'targets'),
    't_bins': entry(
        "the teacher's GFL edge-bin logits of every prior, (4M, reg_max + 1)",
        'student_head', 'teacher_head', 'targets'),
    't_score_bin_weights': entry(
        't_score_weights repeated for the four edges of each prior, (4M,)',
        'student_head', 'teacher_head', 'targets'),
    't_score_bin_avg_factor': entry(
        "the sum of t_score_bin_weights, CrossKD's divisor of its GFL box term, a float",
        'student_head', 'teacher_head', 'targets'),
    's_cross_boxes': entry(
        'the cross-head boxes of every prior, decoded by the teacher head, (M, 4) x1y1x2y2 in '
        'pixels of the padded input',
        'student_head', 'teacher_head', 'cross', 'targets'),
    't_boxes': entry(
        "the teacher's boxes of every prior, (M, 4) x1y1x2y2",
        'student_head', 'teacher_head', 'targets'),
    's_cross_pos_centerness': entry(
        "the cross head's centerness logits at the positives of the student's assigner, (P, 1) "
        '(an ATSS or FCOS teacher)',
        'student_head', 'teacher_head', 'cross', 'targets'),
    't_pos_centerness': entry(
        "the teacher's centerness logits at the same positives, (P, 1) (an ATSS or FCOS "
        'teacher)',
        'student_head', 'teacher_head', 'targets'),
    'centerness_avg_factor': entry(
        "FCOS's box-loss divisor: the sum of the positives' centerness targets (1 without a "
        'positive), a float (an FCOS student)',
        'student_head', 'targets'),
    's_boxes': entry(
        "the student's boxes of every prior, decoded by its head, (M, 4) x1y1x2y2 in pixels of "
        'the padded input, in the order of s_cls_rows (BCKD)',
        'student_head', 'targets'),
    's_box_feats': entry(
        'student neck features RoIAligned at the GT boxes, one (K, C, S, S) per level, K the '
        'boxes of the batch, S = box_feat_size (relational KD)',
        'student_neck', per_level=True),
    't_box_feats': entry(
        "teacher neck features RoIAligned at the same GT boxes, one (K, C', S, S) per level",
        'teacher_neck', per_level=True),
}

#: :class:`mmkd.SegmentationDistiller`. Stages: what the hooks keep of each model (backbone,
#: decode inputs, the classifier's feature before and after dropout, its logits),
#: ``teacher_head``, the teacher's decode head run at all, and ``gt``, the label map.
SEGMENTATION = {
    **BACKBONE,
    's_decode_inputs': entry(
        "what the student's decode head receives: its backbone stages, or its neck levels "
        'when it has a neck, one (N, C, H, W) each',
        'student_backbone', 'student_decode_inputs', per_level=True, adaptable=True),
    't_decode_inputs': entry(
        "what the teacher's decode head receives, one (N, C, H, W) each",
        'teacher_backbone', 'teacher_decode_inputs', per_level=True),
    's_decode_feat': entry(
        "the student decode head's last feature map, the input of its classifier (conv_seg), "
        '(N, C, h, w)',
        'student_decode_feat'),
    't_decode_feat': entry(
        "the teacher decode head's last feature map, (N, C', h', w')",
        'teacher_decode_feat', 'teacher_head', resized=True),
    's_dropout_feat': entry(
        "s_decode_feat after the decode head's dropout (in training), the classifier's own "
        "input, (N, C, h, w): SKD's reference pair-wise feature",
        'student_dropout_feat'),
    't_dropout_feat': entry(
        "the teacher's, (N, C', h', w'); the teacher runs in eval mode, so it equals "
        't_decode_feat',
        'teacher_dropout_feat', 'teacher_head', resized=True),
    's_logits': entry(
        "the student decode head's logits before upsampling, (N, K, h, w)",
        'student_logits'),
    't_logits': entry(
        "the teacher decode head's logits before upsampling, (N, K, h', w'); resized to the "
        "student's h x w when a term reads both (a teacher of another output stride)",
        'teacher_logits', 'teacher_head', resized=True),
    'gt_seg': entry(
        'the GT label map of the padded input, (N, H, W) long, the ignore index on unlabelled'
        ' and padded pixels',
        'gt'),
    'valid_mask': entry(
        'pixels whose GT is not the ignore index, (N, H, W) bool',
        'gt'),
    's_region_feats': entry(
        's_decode_feat averaged over each GT class region of each image, (R, C), R the '
        '(image, class) pairs present in the GT (relational KD)',
        'student_decode_feat', 'gt'),
    't_region_feats': entry(
        "t_decode_feat averaged over the same regions, (R, C')",
        'teacher_decode_feat', 'gt', 'teacher_head'),
}

#: :class:`mmkd.MutualLearningDistiller`: each member reads its own (``s_``) and its peer's
#: (``t_``) predictions; ``detection`` / ``segmentation`` names work for that task only.
MUTUAL = {
    'img': BACKBONE['img'],
    's_cls_scores': entry(
        "detection: this member's dense-head classification logits, (N, A*K, H, W) per level",
        'detection', per_level=True),
    't_cls_scores': entry(
        "detection: the peer's, detached, same shapes",
        'detection', per_level=True),
    'pos_mask': entry(
        "detection: positives of this member's assigner, (N, H*W*A) bool per level",
        'detection', 'targets', per_level=True),
    'num_pos': entry(
        'detection: the number of those positives (at least 1), a float',
        'detection', 'targets'),
    's_logits': entry(
        "segmentation: this member's decode-head logits before upsampling, (N, K, h, w)",
        'segmentation'),
    't_logits': entry(
        "segmentation: the peer's, detached, (N, K, h', w')",
        'segmentation'),
    'valid_mask': entry(
        'segmentation: pixels whose GT is not the ignore index, (N, H, W) bool',
        'segmentation', 'gt'),
}
