"""The detection distiller: an mmdet 3.x student, a frozen teacher, KD terms on named tensors."""

import torch
import torch.nn as nn
from mmdet.models.dense_heads import GFLHead
from mmdet.models.task_modules.prior_generators import MlvlPointGenerator
from mmdet.models.utils import unpack_gt_instances

from mmkd.registry import MODELS
from mmkd.structures import VLR_MODES, batch_foreground_masks, box_features, points_as_boxes
from .base import BaseDistiller
from .capture import Capture
from .cross_head import CrossHead
from .head_rows import (RCNNFamily, dense_head, dense_rows, family_of, head_branches,
                        head_layers, head_space, keep_assignment, require_bins, require_fcos)
from .terms import as_fp32
from .vocabulary import DETECTION

#: a point prior stands for the square of side POINT_PRIOR_SCALE x stride centred on it: the anchor
#: an ATSS / GFL head (octave_base_scale=8, one anchor per location) places at that point.
POINT_PRIOR_SCALE = 8


@MODELS.register_module()
class DetectionDistiller(BaseDistiller):
    """Distils any mmdet 3.x single-stage or two-stage detector.

    One training step (``loss``) reads top to bottom:

    1. the teacher, under ``no_grad`` and in eval mode, runs only as deep as the terms read
       (backbone, neck, dense head; never its loss or label assignment);
    2. the student's own ``loss()`` (unchanged mmdet losses); forward hooks, registered once,
       keep its backbone, neck and dense-head outputs when a term reads them (the student's
       backward then follows its own forward);
    3. targets of the student's assigner, once, when a term reads them;
    4. each KD term on the tensors it names, ``loss_kd_<name>``.

    The dense head is ``bbox_head`` of a single-stage detector and ``rpn_head`` of a two-stage one.
    ``predict()`` is the student's, so mmdet's metrics work unchanged. See
    :class:`BaseDistiller` for the arguments and ``docs/design.md`` for the vocabulary; besides
    them, ``vlr_alpha`` (0.25) and ``vlr_mode`` (``'reference'``, LD's own rule, or ``'score'``)
    set LD's valuable localization region (``s_vlr_bins``...),
    ``box_feat_size`` (1) the side of the RoIAlign output of ``s_box_feats`` / ``t_box_feats``
    and ``cross_layer`` (3) how many convs of the head's towers are the student's in CrossKD's
    cross-head predictions (``s_cross_*``, :class:`CrossHead`).

    Example::

        model = dict(
            type='mmkd.DetectionDistiller',
            student='configs/demo/retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py',
            teacher=dict(config='configs/demo/retinanet_r18_fpn_24e_mmkd-demo.py',
                         checkpoint='work_dirs/demo/teacher/epoch_24.pth'),
            kd_terms=dict(
                hint=dict(loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=1.0),
                          inputs=['s_neck', 't_neck'], levels=[0, 1, 2]),
                cls=dict(loss=dict(type='mmkd.LogitKDLoss', temperature=2.0),
                         inputs=['s_cls_scores', 't_cls_scores'])))
    """

    TABLE = DETECTION

    def __init__(self, student, teacher, kd_terms=None, save_teacher=False,
                 data_preprocessor=None, init_cfg=None, vlr_alpha=0.25, box_feat_size=1,
                 nonfinite='raise', inherit=(), vlr_mode='reference', cross_layer=3):
        super().__init__(student, teacher, kd_terms, save_teacher, data_preprocessor, init_cfg,
                         nonfinite, inherit)
        self.vlr_alpha = vlr_alpha
        if vlr_mode not in VLR_MODES:
            raise ValueError(f'model.vlr_mode={vlr_mode!r}; use one of {VLR_MODES}.')
        self.vlr_mode = vlr_mode
        if not isinstance(box_feat_size, int) or box_feat_size < 1:
            raise ValueError(f'model.box_feat_size={box_feat_size!r}: give a positive integer.')
        self.box_feat_size = box_feat_size
        wants = self.wants
        self.capture = Capture()
        student_head = None
        if wants.student_head:
            student_head = dense_head(self.student, 'student')
            self.capture.keep(student_head, 's_head')
        # the priors' feature-map sizes are the student's neck levels
        if wants.student_backbone or (wants.student_neck and not self.student.with_neck):
            self.capture.keep(self.student.backbone, 's_backbone')
        if wants.student_neck and self.student.with_neck:
            self.capture.keep(self.student.neck, 's_neck')
        if wants.targets:
            head_space(student_head)  # raises for heads without head-level rows
            keep_assignment(student_head, self.capture)
        if wants.bins or wants.vlr:
            require_bins(student_head)
        #: CrossKD's cross head (None when no term reads s_cross_* names)
        self.cross_head = CrossHead(student_head, dense_head(self.teacher, 'teacher'),
                                    cross_layer, self.capture) if wants.cross else None
        if self.needs & {'s_cross_bins', 't_bins'} and \
                not family_of(dense_head(self.teacher, 'teacher')).bins:
            raise ValueError(
                "s_cross_bins / t_bins are GFL edge bins; the teacher's "
                f"{type(dense_head(self.teacher, 'teacher')).__name__} has none: read "
                's_cross_boxes / t_boxes for its boxes.')
        centerness = {'s_cross_pos_centerness', 't_pos_centerness'} & self.needs
        t_layers = head_layers(dense_head(self.teacher, 'teacher')) if centerness else None
        if centerness and (t_layers is None or not t_layers.centerness):
            raise ValueError(
                f"{', '.join(sorted(centerness))}: the teacher's "
                f"{type(dense_head(self.teacher, 'teacher')).__name__} is not a head mmkd reads "
                "a centerness from (mmdet's ATSSHead and FCOSHead, with their own forward).")
        if 'centerness_avg_factor' in self.needs:
            require_fcos(student_head)
        #: the two-stage heads' rows (None when no term reads rcnn_* names)
        self.rcnn = RCNNFamily(self.student, self.teacher, self.capture) if wants.rcnn else None
        if wants.priors:
            student_head = student_head or dense_head(self.student, 'student')
            if not hasattr(student_head, 'prior_generator'):
                raise NotImplementedError(
                    f"`priors` needs a dense head with a prior_generator; the student's "
                    f'{type(student_head).__name__} has none.')
        self.align_terms('neck')

    def loss(self, inputs, data_samples):
        """Student task losses plus ``loss_kd_<term>`` for every KD term."""
        active = self.active_terms()
        if not active:
            return self.student.loss(inputs, data_samples)
        # the teacher first: the student's backward then follows its own forward
        knowledge = dict(img=inputs, **self.teacher_knowledge(inputs))
        with self.capture() as captured:
            losses = self.student.loss(inputs, data_samples)
        if self.wants.student_backbone:
            knowledge['s_backbone'] = captured['s_backbone']
        if self.wants.student_neck:
            knowledge['s_neck'] = captured.get('s_neck', captured.get('s_backbone'))
        if 's_head' in captured:
            knowledge['s_cls_scores'], knowledge['s_bbox_preds'] = captured['s_head'][:2]
        s_cross_centerness = None
        if self.wants.cross:
            (knowledge['s_cross_cls_scores'], knowledge['s_cross_bbox_preds'],
             s_cross_centerness) = self.cross_head(
                self.cross_head.student_features(captured), knowledge.pop('t_cross_feats'))

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
        if self.wants.priors:
            knowledge['priors'] = self.student_priors(
                [f.shape[-2:] for f in knowledge['s_neck']],
                inputs.device)
        if self.wants.targets:
            t_out = (knowledge['t_cls_scores'], knowledge['t_bbox_preds']) \
                if 't_cls_scores' in knowledge else None
            knowledge.update(dense_rows(
                dense_head(self.student, 'student'),
                dense_head(self.teacher, 'teacher') if t_out else None,
                (knowledge['s_cls_scores'], knowledge['s_bbox_preds']), t_out,
                self._assignable(gt_instances), img_metas, wants=self.needs,
                assigned=captured.get('assigned'),
                vlr_alpha=self.vlr_alpha, vlr_mode=self.vlr_mode,
                cross_out=(knowledge.get('s_cross_cls_scores'),
                           knowledge.get('s_cross_bbox_preds'), s_cross_centerness),
                t_centerness=knowledge.pop('t_centerness', None)))
        if self.wants.rcnn:
            knowledge.update(self.rcnn_knowledge(captured['rcnn'], knowledge['t_neck']))

        for name in active:
            losses[f'loss_kd_{name}'] = self.kd_terms[name](knowledge)
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
        for lv, s in enumerate(s_feats):
            # the level's teacher and adapter: those of the first term reading it on the neck
            term = next((term for term in self.kd_terms.values() if 's_neck' in term.per_level
                         and term.reads_level(lv, len(s_feats))), None)
            tl = lv if term is None else term.teacher_level_of(lv, len(s_feats), len(t_feats))
            if tl >= len(t_feats):
                continue
            t = t_feats[tl]
            adapter = term.adapter_at('neck', lv, len(s_feats)) if term is not None else None
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
        wants_head = self.wants.teacher_head
        wants_neck = wants_head or self.wants.teacher_neck
        if not (wants_neck or self.wants.teacher_backbone):
            return {}
        out = {}
        precision, inputs = self.teacher_precision(inputs)
        with precision:
            backbone = self.teacher.backbone(inputs)
            out['t_backbone'] = backbone
            if wants_neck:
                out['t_neck'] = self.teacher.neck(backbone) if self.teacher.with_neck \
                    else backbone
            if self.wants.cross:
                (out['t_cls_scores'], out['t_bbox_preds'], out['t_centerness'],
                 out['t_cross_feats']) = self.cross_head.teacher(out['t_neck'])
            elif 't_pos_centerness' in self.needs:
                out['t_cls_scores'], out['t_bbox_preds'], out['t_centerness'] = \
                    dense_head(self.teacher, 'teacher')(out['t_neck'])[:3]
            elif wants_head:
                cls, reg = self.teacher_branches()
                out['t_cls_scores'], out['t_bbox_preds'] = head_branches(
                    dense_head(self.teacher, 'teacher'), out['t_neck'], cls=cls, reg=reg)
        return out

    def teacher_branches(self):
        """Which of the teacher head's branches the terms read: (classification, regression).
        The classification maps also serve the head-match check of ``t_pos_reg`` and a
        continuous teacher's box choice for the bins; only a GFL teacher's bins need none."""
        names = {n for n in self.needs if 'teacher_head' in self.TABLE[n].stages}
        bins = {'t_pos_bins', 't_vlr_bins'}
        reg = bool(names & {'t_bbox_preds', 't_pos_reg', 't_bins', 't_boxes'} | names & bins)
        cls = bool(names - bins - {'t_bbox_preds'}) or \
            bool(names & bins and not isinstance(dense_head(self.teacher, 'teacher'), GFLHead))
        return cls or not reg, reg or not cls

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

    def rcnn_knowledge(self, captured, t_neck):
        """The RCNN rows (:class:`RCNNFamily`), the teacher's box head run on the student's
        sampled RoIs in the teacher's precision."""
        precision, _ = self.teacher_precision(captured['rois'])
        with torch.no_grad(), precision:
            return self.rcnn.rows(captured, t_neck)
