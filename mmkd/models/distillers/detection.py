"""The detection distiller: an mmdet 3.x student, a frozen teacher, KD terms on named tensors."""
import inspect

import torch
import torch.nn as nn
from mmdet.models.task_modules.prior_generators import MlvlPointGenerator
from mmdet.models.utils import unpack_gt_instances

from mmkd.registry import MODELS
from mmkd.structures import batch_foreground_masks, box_features, points_as_boxes
from .base import BaseDistiller, as_fp32
from .head_rows import (BIN_NAMES, VLR_MODES, VLR_NAMES, dense_head, dense_rows, head_space,
                        rcnn_rows, require_bins)

#: a point prior stands for the square of side POINT_PRIOR_SCALE x stride centred on it: the anchor
#: an ATSS / GFL head (octave_base_scale=8, one anchor per location) places at that point.
POINT_PRIOR_SCALE = 8


@MODELS.register_module()
class DetectionDistiller(BaseDistiller):
    """Distils any mmdet 3.x single-stage or two-stage detector.

    One training step (``loss``) reads top to bottom:

    1. the student's own ``loss()`` (unchanged mmdet losses); forward hooks, registered once,
       keep its backbone, neck and dense-head outputs when a term reads them;
    2. the teacher, under ``no_grad`` and in eval mode, runs only as deep as the terms read
       (backbone, neck, dense head; never its loss or label assignment);
    3. targets of the student's assigner, once, when a term reads them;
    4. each KD term on the tensors it names, ``loss_kd_<name>``.

    The dense head is ``bbox_head`` of a single-stage detector and ``rpn_head`` of a two-stage one.
    ``predict()`` is the student's, so mmdet's metrics work unchanged. See
    :class:`BaseDistiller` for the arguments and ``docs/design.md`` for the vocabulary; besides
    them, ``vlr_alpha`` (0.25) and ``vlr_mode`` (``'reference'``, LD's own rule, or ``'score'``)
    set LD's valuable localization region (``s_vlr_bins``...) and
    ``box_feat_size`` (1) the side of the RoIAlign output of ``s_box_feats`` / ``t_box_feats``.

    Example::

        model = dict(
            type='mmkd.DetectionDistiller',
            student='configs/demo/retinanet_r18-narrow_fpn_20e_mmkd-demo.py',
            teacher=dict(config='configs/demo/retinanet_r18_fpn_20e_mmkd-demo.py',
                         checkpoint='work_dirs/teacher/epoch_20.pth'),
            kd_terms=dict(
                hint=dict(loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=1.0),
                          inputs=['s_neck', 't_neck'], levels=[0, 1, 2]),
                cls=dict(loss=dict(type='mmkd.LogitKDLoss', temperature=2.0),
                         inputs=['s_cls_scores', 't_cls_scores'])))
    """

    VOCABULARY = {
        'img': 'the batch input (N, 3, H, W), normalised and padded',
        's_backbone': 'student backbone outputs, one (N, C, H, W) per stage',
        't_backbone': 'teacher backbone outputs, one (N, C, H, W) per stage',
        's_neck': 'student neck outputs (FPN levels), one (N, C, H, W) per level',
        't_neck': 'teacher neck outputs (FPN levels), one (N, C, H, W) per level',
        's_cls_scores': 'student dense-head classification logits, (N, A*K, H, W) per level',
        't_cls_scores': 'teacher dense-head classification logits, (N, A*K, H, W) per level',
        's_bbox_preds': 'student dense-head box regressions, (N, A*4, H, W) per level',
        't_bbox_preds': 'teacher dense-head box regressions, (N, A*4, H, W) per level',
        'pos_mask': "positives of the student's assigner, (N, H*W*A) bool per level",
        'labels': "labels of the student's assigner (K = background), (N, H*W*A) per level",
        'bbox_targets': "regression targets in the student head's encoding, (N, H*W*A, 4) per "
                        'level',
        'num_pos': 'the number of positive anchors in the batch (at least 1), a float',
        'gt_bboxes': 'GT boxes, a list of N (k_i, 4) x1y1x2y2 in pixels of the padded input',
        'gt_labels': 'GT labels, a list of N (k_i,)',
        'img_shapes': 'a list of N (h, w): each image after resizing, before padding',
        'batch_input_shape': '(H, W) of the padded batch input',
        's_pos_reg': "student dense-head regression at the positives of the student's "
                     "assigner, (P, 4) in the head's space (docs/design.md)",
        't_pos_reg': "teacher dense-head regression at the same locations, (P, 4) in the head's "
                     'space',
        'pos_reg_targets': "the assigned regression targets of the positives, (P, 4) in the head's "
                           'space',
        'pos_reg_weights': "the head's regression weights of the positives, (P, 4)",
        's_cls_rows': 'student dense-head classification logits of every prior, (M, K), in the '
                      'order of the rows above',
        't_cls_rows': 'teacher dense-head classification logits of every prior, (M, K)',
        'cls_row_weights': "the head's classification weights of every prior (sampled anchors of "
                           'the RPN, valid anchors elsewhere), (M,)',
        'cls_avg_factor': "the divisor of the student head's own classification loss, a float",
        's_pos_bins': "student GFL edge-bin logits at the positives, (4P, reg_max + 1), the "
                      'four edges of a positive together',
        't_pos_bins': "the teacher's edge distributions on the student's bins at the same "
                      'positives, (4P, reg_max + 1): GFL logits, or log-probabilities when '
                      're-binned from another reg_max or built from a teacher that regresses '
                      'continuous offsets (docs/ld.md)',
        'pos_bin_weights': "the student's largest class score at each positive, repeated for "
                           'its four edges, (4P,)',
        'pos_bin_avg_factor': 'the sum of pos_bin_weights, the divisor GFL and LD use, a float',
        's_vlr_bins': "student GFL edge-bin logits in LD's valuable localization region, "
                      '(4V, reg_max + 1): with vlr_mode=\'reference\' the anchors whose DIoU with '
                      "a GT lies in [vlr_alpha x thr, thr), thr that GT's ATSS threshold, "
                      "positives included; with 'score' DIoU >= vlr_alpha x thr outside the "
                      'positives',
        't_vlr_bins': "the teacher's edge distributions there, as t_pos_bins, (4V, reg_max + 1)",
        'vlr_bin_weights': "each VLR location's weight, (4V,): its largest IoU with the GTs it "
                           "is in the region of (vlr_mode='reference'), or the student's largest "
                           "class score ('score')",
        'num_vlr': 'V, the number of VLR locations (at least 1), a float',
        'pos_level_weights': "1 / (the batch's positives on the level of each positive), (P,): "
                             "a weight that turns a summed loss over the positives into LD's "
                             'mean per level, summed over the levels',
        's_pos_cls': "student dense-head classification logits at the positives, (P, K)",
        't_pos_cls': "teacher dense-head classification logits at the student's positives, "
                     '(P, K)',
        's_rcnn_cls': "student RCNN box-head logits on the student's sampled RoIs, (R, K+1)",
        't_rcnn_cls': "teacher RCNN box-head logits on the student's sampled RoIs, (R, K+1)",
        'rcnn_label_weights': 'the weights of those RoIs in the box-head loss, (R,)',
        'rcnn_num_rois': 'R, the number of sampled RoIs (the box head\'s own divisor), a float',
        's_rcnn_pos_reg': 'student RCNN deltas of the positive RoIs, for their GT class, (P, 4)',
        't_rcnn_pos_reg': 'teacher RCNN deltas of the same RoIs and classes, (P, 4)',
        'rcnn_pos_reg_targets': 'the encoded targets of the positive RoIs, (P, 4)',
        'rcnn_pos_reg_weights': 'their regression weights, (P, 4)',
        'priors': "the student dense head's priors per level, (H*W*A, 4) x1y1x2y2 in pixels of "
                  'the padded input (same for every image): its anchors, or for a point head '
                  '(FCOS, ...) the square of side 8 x stride centred on each point',
        's_box_feats': 'student neck features RoIAligned at the GT boxes, one (K, C, S, S) per '
                       'level, K the boxes of the batch, S = box_feat_size (relational KD)',
        't_box_feats': 'teacher neck features RoIAligned at the same GT boxes, one (K, C\', S, S) '
                       'per level',
    }
    PER_LEVEL = ('s_backbone', 't_backbone', 's_neck', 't_neck', 's_cls_scores', 't_cls_scores',
                 's_bbox_preds', 't_bbox_preds', 'pos_mask', 'labels', 'bbox_targets', 'priors',
                 's_box_feats', 't_box_feats')
    ADAPTABLE = ('backbone', 'neck')
    TARGET_NAMES = ('pos_mask', 'labels', 'bbox_targets', 'num_pos', 's_pos_reg', 't_pos_reg',
                    'pos_reg_targets', 'pos_reg_weights', 's_cls_rows', 't_cls_rows',
                    'cls_row_weights', 'cls_avg_factor', *BIN_NAMES, *VLR_NAMES, 'num_vlr',
                    's_pos_cls', 't_pos_cls', 'pos_level_weights')
    RCNN_NAMES = ('s_rcnn_cls', 't_rcnn_cls', 'rcnn_label_weights', 'rcnn_num_rois',
                  's_rcnn_pos_reg', 't_rcnn_pos_reg', 'rcnn_pos_reg_targets',
                  'rcnn_pos_reg_weights')
    #: names that need the teacher's dense head
    TEACHER_HEAD_NAMES = ('t_cls_scores', 't_bbox_preds', 't_pos_reg', 't_cls_rows',
                          't_pos_bins', 't_vlr_bins', 't_pos_cls')

    def __init__(self, student, teacher, kd_terms=None, save_teacher=False,
                 data_preprocessor=None, init_cfg=None, vlr_alpha=0.25, box_feat_size=1,
                 nonfinite='raise', inherit=(), vlr_mode='reference'):
        super().__init__(student, teacher, kd_terms, save_teacher, data_preprocessor, init_cfg,
                         nonfinite, inherit)
        self.vlr_alpha = vlr_alpha
        if vlr_mode not in VLR_MODES:
            raise ValueError(f'model.vlr_mode={vlr_mode!r}; use one of {VLR_MODES}.')
        self.vlr_mode = vlr_mode
        if not isinstance(box_feat_size, int) or box_feat_size < 1:
            raise ValueError(f'model.box_feat_size={box_feat_size!r}: give a positive integer.')
        self.box_feat_size = box_feat_size
        needs = {k for term in self.terms.values() for k in term['inputs']}
        self.needs = needs
        self._captured = {}
        self._capturing = False
        student_head = None
        if needs & {'s_cls_scores', 's_bbox_preds', *self.TARGET_NAMES}:
            student_head = dense_head(self.student, 'student')
            student_head.register_forward_hook(self._capture_hook('s_head'))
        # the priors' feature-map sizes are the student's neck levels
        wants_neck = bool(needs & {'s_neck', 'priors', 's_box_feats'})
        if 's_backbone' in needs or (wants_neck and not self.student.with_neck):
            self.student.backbone.register_forward_hook(self._capture_hook('s_backbone'))
        if wants_neck and self.student.with_neck:
            self.student.neck.register_forward_hook(self._capture_hook('s_neck'))
        if needs & set(self.TARGET_NAMES):
            head_space(student_head)  # raises for heads without head-level rows
        if needs & {*BIN_NAMES, *VLR_NAMES}:
            require_bins(student_head)
        if needs & set(self.RCNN_NAMES):
            self._capture_rcnn_targets()
        if 'priors' in needs:
            student_head = student_head or dense_head(self.student, 'student')
            if not hasattr(student_head, 'prior_generator'):
                raise NotImplementedError(
                    f"`priors` needs a dense head with a prior_generator; the student's "
                    f'{type(student_head).__name__} has none.')
        pairs = {k for name in self.terms for k in self.feature_pairs(name)}
        learnable = [name for name, loss in self.kd_losses.items()
                     if self.per_level_inputs(name) and any(True for _ in loss.parameters())]
        if pairs or learnable:
            def features(model):
                def run(img):
                    backbone = model.backbone(img)
                    neck = model.neck(backbone) if model.with_neck else backbone
                    return dict(backbone=backbone, neck=neck)
                return run
            s_shapes = self.probe_shapes(features(self.student))
            self.build_adapters(s_shapes, self.probe_shapes(features(self.teacher)))
            self.replicate_losses({
                name: len(s_shapes['backbone' if self.per_level_inputs(name)[0].endswith(
                    'backbone') else 'neck']) for name in learnable})

    def _capture_hook(self, key):
        def hook(module, args, output):
            if self._capturing:
                self._captured[key] = output
        return hook

    def loss(self, inputs, data_samples):
        """Student task losses plus ``loss_kd_<term>`` for every KD term."""
        self._captured = {}
        self._capturing = True
        try:
            losses = self.student.loss(inputs, data_samples)
        finally:
            self._capturing = False
        captured, self._captured = self._captured, {}
        active = self.active_terms()
        if not active:
            return losses

        knowledge = dict(img=inputs)
        if 's_backbone' in self.needs:
            knowledge['s_backbone'] = captured['s_backbone']
        if self.needs & {'s_neck', 'priors', 's_box_feats'}:
            knowledge['s_neck'] = captured.get('s_neck', captured.get('s_backbone'))
        if 's_head' in captured:
            knowledge['s_cls_scores'], knowledge['s_bbox_preds'] = captured['s_head'][:2]
        knowledge.update(self.teacher_knowledge(inputs))

        gt_instances, _, img_metas = unpack_gt_instances(data_samples)
        knowledge['gt_bboxes'] = [gt.bboxes for gt in gt_instances]
        knowledge['gt_labels'] = [gt.labels for gt in gt_instances]
        knowledge['img_shapes'] = [tuple(m['img_shape'][:2]) for m in img_metas]
        knowledge['batch_input_shape'] = tuple(img_metas[0]['batch_input_shape'])
        for side in ('s', 't'):
            if f'{side}_box_feats' in self.needs:
                knowledge[f'{side}_box_feats'] = [
                    box_features(as_fp32(f), knowledge['gt_bboxes'],
                                 knowledge['batch_input_shape'], self.box_feat_size)
                    for f in knowledge[f'{side}_neck']]
        if 'priors' in self.needs:
            knowledge['priors'] = self.student_priors(
                [f.shape[-2:] for f in knowledge['s_neck']],
                inputs.device)
        if self.needs & set(self.TARGET_NAMES):
            t_out = (knowledge['t_cls_scores'], knowledge['t_bbox_preds']) \
                if 't_cls_scores' in knowledge else None
            knowledge.update(dense_rows(
                dense_head(self.student, 'student'),
                dense_head(self.teacher, 'teacher') if t_out else None,
                (knowledge['s_cls_scores'], knowledge['s_bbox_preds']), t_out,
                self._assignable(gt_instances), img_metas, wants=self.needs,
                vlr_alpha=self.vlr_alpha, vlr_mode=self.vlr_mode))
        if self.needs & set(self.RCNN_NAMES):
            knowledge.update(self.rcnn_knowledge(captured['rcnn'], knowledge['t_neck']))

        for name in active:
            losses[f'loss_kd_{name}'] = self.run_term(name, knowledge)
        return losses

    @torch.no_grad()
    def visual_maps(self, inputs, data_samples):
        """For the first image, per neck level (``level<i>``): the teacher's and the student's
        spatial attention (mean of |F| over channels), FGD's foreground mask of the GT boxes
        (:func:`mmkd.structures.batch_foreground_masks`), and the feature difference: the mean
        squared difference over channels, the student's features through the adapter a term
        aligns them with; the attention difference where the channels differ and no adapter
        aligns them. Runs both models in eval mode (BatchNorm statistics untouched)."""
        was_training = self.training
        self.eval()
        try:
            s_feats = self.student.extract_feat(inputs[:1])
            t_feats = self.teacher.extract_feat(self.teacher_input(inputs[:1]))
        finally:
            self.train(was_training)
        gt = data_samples[0].gt_instances.bboxes if 'gt_instances' in data_samples[0] \
            else inputs.new_zeros(0, 4)
        maps = {}
        for lv, (s, t) in enumerate(zip(s_feats, t_feats)):
            adapter = self.adapter_at('neck', lv, len(s_feats))
            if adapter is not None:
                s_aligned = adapter(s, t.shape[-2:])
            elif s.shape == t.shape:
                s_aligned = s
            else:
                s_aligned = None
            s_att, t_att = s[0].abs().mean(0), t[0].abs().mean(0)  # (H, W)
            diff = (s_aligned[0] - t[0]).pow(2).mean(0) if s_aligned is not None else \
                (nn.functional.interpolate(s_att[None, None], t_att.shape)[0, 0] - t_att).abs()
            maps[f'level{lv}'] = dict(
                teacher_attention=t_att, student_attention=s_att,
                fg_mask=batch_foreground_masks([gt], tuple(inputs.shape[-2:]),
                                               tuple(t.shape[-2:]))[0],
                difference=diff)
        return maps

    @torch.no_grad()
    def teacher_knowledge(self, inputs):
        """Runs the teacher only as deep as the terms read."""
        wants_head = bool(self.needs & set(self.TEACHER_HEAD_NAMES))
        wants_neck = wants_head or bool(self.needs & {'t_neck', 't_box_feats', *self.RCNN_NAMES})
        if not (wants_neck or 't_backbone' in self.needs):
            return {}
        out = {}
        precision, inputs = self.teacher_precision(inputs)
        with precision:
            backbone = self.teacher.backbone(inputs)
            out['t_backbone'] = backbone
            if wants_neck:
                out['t_neck'] = self.teacher.neck(backbone) if self.teacher.with_neck \
                    else backbone
            if wants_head:
                head_out = dense_head(self.teacher, 'teacher')(out['t_neck'])
                out['t_cls_scores'], out['t_bbox_preds'] = head_out[:2]
        return out

    @torch.no_grad()
    def student_priors(self, featmap_sizes, device):
        """The student dense head's priors as boxes, one (H*W*A, 4) per level."""
        generator = dense_head(self.student, 'student').prior_generator
        if isinstance(generator, MlvlPointGenerator):
            points = generator.grid_priors(featmap_sizes, device=device, with_stride=True)
            return [points_as_boxes(p[:, :2], p[:, 2:], POINT_PRIOR_SCALE) for p in points]
        return generator.grid_priors(featmap_sizes, device=device)

    def _assignable(self, gt_instances):
        """The GT the student's dense head assigns: class-agnostic for an RPN, as mmdet's
        TwoStageDetector does."""
        head = dense_head(self.student, 'student')
        if head is not getattr(self.student, 'rpn_head', None):
            return gt_instances
        gt_instances = [gt.clone() for gt in gt_instances]
        for gt in gt_instances:
            gt.labels = torch.zeros_like(gt.labels)
        return gt_instances

    def _capture_rcnn_targets(self):
        """Keeps, during the student's ``loss()``, what its RCNN box head's ``loss_and_target``
        receives (the sampled RoIs and the head's outputs) and the targets it assigns, so that the
        teacher's box head can be run on the same RoIs. Wraps that method of this student's box
        head instance once; mmdet's code is not changed."""
        roi_head = getattr(self.student, 'roi_head', None)
        bbox_head = getattr(roi_head, 'bbox_head', None)
        if bbox_head is None or not hasattr(bbox_head, 'loss_and_target') or \
                not hasattr(getattr(self.teacher, 'roi_head', None), 'bbox_head'):
            raise ValueError('rcnn_* inputs need a two-stage student and teacher with an RCNN '
                             f'box head (roi_head.bbox_head); got {type(self.student).__name__} '
                             f'and {type(self.teacher).__name__}.')
        signature = inspect.signature(bbox_head.loss_and_target)
        original = bbox_head.loss_and_target

        def loss_and_target(*args, **kwargs):
            out = original(*args, **kwargs)
            if self._capturing:
                given = signature.bind(*args, **kwargs).arguments
                self._captured['rcnn'] = dict(cls_score=given['cls_score'],
                                              bbox_pred=given['bbox_pred'], rois=given['rois'],
                                              targets=out['bbox_targets'])
            return out

        bbox_head.loss_and_target = loss_and_target

    def rcnn_knowledge(self, captured, t_neck):
        """The teacher's RCNN box head on the student's sampled RoIs (one RoI-head forward), and
        the RCNN rows."""
        precision, _ = self.teacher_precision(captured['rois'])
        with torch.no_grad(), precision:
            t_out = self.teacher.roi_head._bbox_forward(t_neck, captured['rois'])
        return rcnn_rows(self.student.roi_head.bbox_head, captured, t_out['cls_score'],
                         t_out['bbox_pred'])
