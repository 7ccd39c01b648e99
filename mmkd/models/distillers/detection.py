"""The detection distiller: an mmdet 3.x student, a frozen teacher, KD terms on named tensors."""
import torch
from mmdet.models.dense_heads import AnchorHead
from mmdet.models.task_modules.prior_generators import MlvlPointGenerator
from mmdet.models.utils import unpack_gt_instances

from mmkd.registry import MODELS
from mmkd.structures import points_as_boxes
from .base import BaseDistiller

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
    :class:`BaseDistiller` for the arguments and ``docs/design.md`` for the vocabulary.

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
        'priors': "the student dense head's priors per level, (H*W*A, 4) x1y1x2y2 in pixels of "
                  'the padded input (same for every image): its anchors, or for a point head '
                  '(FCOS, ...) the square of side 8 x stride centred on each point',
    }
    PER_LEVEL = ('s_backbone', 't_backbone', 's_neck', 't_neck', 's_cls_scores', 't_cls_scores',
                 's_bbox_preds', 't_bbox_preds', 'pos_mask', 'labels', 'bbox_targets', 'priors')
    ADAPTABLE = ('backbone', 'neck')
    TARGET_NAMES = ('pos_mask', 'labels', 'bbox_targets', 'num_pos')

    def __init__(self, student, teacher, kd_terms=None, save_teacher=False,
                 data_preprocessor=None, init_cfg=None):
        super().__init__(student, teacher, kd_terms, save_teacher, data_preprocessor, init_cfg)
        needs = {k for term in self.terms.values() for k in term['inputs']}
        self.needs = needs
        self._captured = {}
        self._capturing = False
        student_head = None
        if needs & {'s_cls_scores', 's_bbox_preds', *self.TARGET_NAMES}:
            student_head = self.dense_head(self.student, 'student')
            student_head.register_forward_hook(self._capture_hook('s_head'))
        # the priors' feature-map sizes are the student's neck levels
        wants_neck = bool(needs & {'s_neck', 'priors'})
        if 's_backbone' in needs or (wants_neck and not self.student.with_neck):
            self.student.backbone.register_forward_hook(self._capture_hook('s_backbone'))
        if wants_neck and self.student.with_neck:
            self.student.neck.register_forward_hook(self._capture_hook('s_neck'))
        if needs & set(self.TARGET_NAMES) and \
                type(student_head).get_targets is not AnchorHead.get_targets:
            raise NotImplementedError(
                'pos_mask / labels / bbox_targets / num_pos are available for anchor heads that '
                "use AnchorHead's target assignment (RetinaHead, RPNHead, ...); the student's "
                f'{type(student_head).__name__} assigns targets its own way.')
        if 'priors' in needs:
            student_head = student_head or self.dense_head(self.student, 'student')
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

    @staticmethod
    def dense_head(detector, who):
        """The dense head whose outputs are ``*_cls_scores`` / ``*_bbox_preds``."""
        if getattr(detector, 'with_rpn', False) or hasattr(detector, 'roi_head'):
            return detector.rpn_head
        if hasattr(detector, 'bbox_head'):
            return detector.bbox_head
        raise ValueError(f'the {who} {type(detector).__name__} has neither a bbox_head nor an '
                         'rpn_head: head-level terms cannot read it.')

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
        if not self.terms:
            return losses

        knowledge = dict(img=inputs)
        if 's_backbone' in self.needs:
            knowledge['s_backbone'] = captured['s_backbone']
        if self.needs & {'s_neck', 'priors'}:
            knowledge['s_neck'] = captured.get('s_neck', captured.get('s_backbone'))
        if 's_head' in captured:
            knowledge['s_cls_scores'], knowledge['s_bbox_preds'] = captured['s_head'][:2]
        knowledge.update(self.teacher_knowledge(inputs))

        gt_instances, _, img_metas = unpack_gt_instances(data_samples)
        knowledge['gt_bboxes'] = [gt.bboxes for gt in gt_instances]
        knowledge['gt_labels'] = [gt.labels for gt in gt_instances]
        knowledge['img_shapes'] = [tuple(m['img_shape'][:2]) for m in img_metas]
        knowledge['batch_input_shape'] = tuple(img_metas[0]['batch_input_shape'])
        if 'priors' in self.needs:
            knowledge['priors'] = self.student_priors(
                [f.shape[-2:] for f in knowledge['s_neck']],
                inputs.device)
        if self.needs & set(self.TARGET_NAMES):
            knowledge.update(self.student_targets(knowledge['s_cls_scores'], gt_instances,
                                                  img_metas))

        for name in self.terms:
            losses[f'loss_kd_{name}'] = self.run_term(name, knowledge)
        return losses

    @torch.no_grad()
    def teacher_knowledge(self, inputs):
        """Runs the teacher only as deep as the terms read."""
        wants_head = bool(self.needs & {'t_cls_scores', 't_bbox_preds'})
        wants_neck = wants_head or 't_neck' in self.needs
        if not (wants_neck or 't_backbone' in self.needs):
            return {}
        out = {}
        backbone = self.teacher.backbone(inputs)
        out['t_backbone'] = backbone
        if wants_neck:
            out['t_neck'] = self.teacher.neck(backbone) if self.teacher.with_neck else backbone
        if wants_head:
            head_out = self.dense_head(self.teacher, 'teacher')(out['t_neck'])
            out['t_cls_scores'], out['t_bbox_preds'] = head_out[:2]
        return out

    @torch.no_grad()
    def student_priors(self, featmap_sizes, device):
        """The student dense head's priors as boxes, one (H*W*A, 4) per level."""
        generator = self.dense_head(self.student, 'student').prior_generator
        if isinstance(generator, MlvlPointGenerator):
            points = generator.grid_priors(featmap_sizes, device=device, with_stride=True)
            return [points_as_boxes(p[:, :2], p[:, 2:], POINT_PRIOR_SCALE) for p in points]
        return generator.grid_priors(featmap_sizes, device=device)

    @torch.no_grad()
    def student_targets(self, cls_scores, gt_instances, img_metas):
        """Assigns targets once with the student's dense head (AnchorHead family)."""
        head = self.dense_head(self.student, 'student')
        if head is getattr(self.student, 'rpn_head', None):
            # The RPN is class-agnostic: mmdet's TwoStageDetector zeroes the labels for it too.
            gt_instances = [gt.clone() for gt in gt_instances]
            for gt in gt_instances:
                gt.labels = torch.zeros_like(gt.labels)
        featmap_sizes = [s.shape[-2:] for s in cls_scores]
        anchors, valid_flags = head.get_anchors(featmap_sizes, img_metas,
                                                device=cls_scores[0].device)
        labels, _, bbox_targets, _, _ = head.get_targets(anchors, valid_flags, gt_instances,
                                                         img_metas)[:5]
        pos_mask = [(lb >= 0) & (lb < head.num_classes) for lb in labels]
        num_pos = max(float(sum(m.sum() for m in pos_mask)), 1.0)
        return dict(labels=labels, bbox_targets=bbox_targets, pos_mask=pos_mask, num_pos=num_pos)
