"""The segmentation distiller: an mmseg 1.x ``EncoderDecoder`` student, a frozen teacher, KD terms
on named tensors, and an optional discriminator trained beside the student (adversarial KD)."""
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapperDict

from mmkd.registry import MODELS
from mmkd.structures import label_maps, region_features
from mmkd.utils.dist import average_gradients
from mmkd.utils.errors import UnknownNameError
from .base import BaseDistiller
from .build import build_model
from .capture import Capture, first_input
from .terms import as_fp32, full_precision
from .vocabulary import SEGMENTATION


def frozen(module):
    """``module`` as a function whose parameters take no gradient: it runs with detached copies
    of them (``torch.func.functional_call``), so gradients flow through it to its inputs and
    none reach its parameters. Nothing about the module changes (its ``requires_grad`` flags
    stay as they are, which DDP's reducer relies on); its buffers are its own, so batch-norm
    statistics and spectral norm's power iteration update as in a plain call."""
    detached = {name: p.detach() for name, p in module.named_parameters()}

    def call(*args):
        return torch.func.functional_call(module, detached, args)
    return call


@MODELS.register_module()
class SegmentationDistiller(BaseDistiller):
    """Distils any mmseg 1.x ``EncoderDecoder`` (PSPNet, DeepLabV3 / V3+, FCN, UPerNet ...).

    One training step (``loss``) reads top to bottom:

    1. the student's own ``loss()`` (decode and auxiliary heads' losses unchanged); forward hooks,
       registered once, keep its backbone outputs, decode-head inputs, the decode head's feature
       before its classifier and its logits when a term reads them;
    2. the teacher, under ``no_grad`` and in eval mode, runs only as deep as the terms read
       (backbone, neck, decode head; never its auxiliary head or loss);
    3. each KD term on the tensors it names, ``loss_kd_<name>``. An adversarial term (a loss with
       ``adversarial = True``, e.g. :class:`HolisticAdversarialLoss`) is called with the
       distiller's discriminator first, which takes no gradient from it.

    With an adversarial term, ``train_step`` takes an ``OptimWrapperDict`` with ``student`` and
    ``discriminator`` wrappers (``mmkd.MultiOptimWrapperConstructor``): one student step, then
    ``disc_steps`` discriminator steps on the same, detached, student and teacher maps.

    ``predict()`` is the student's, so mmseg's ``IoUMetric`` / ``CityscapesMetric`` work unchanged.

    Args:
        student, teacher, kd_terms, save_teacher, data_preprocessor: see :class:`BaseDistiller`.
        discriminator (dict, optional): the adversarial term's discriminator, e.g.
            ``dict(type='mmkd.SegDiscriminator')``; ``num_classes`` defaults to the student's
            classes and ``with_image`` to whether the term reads ``img``.
        disc_steps (int): discriminator steps per student step. Defaults to 1 (SKD).

    Example::

        model = dict(
            type='mmkd.SegmentationDistiller',
            student='configs/demo/pspnet_r18-w8-d8_1.6k_mmkd-demo-student.py',
            teacher=dict(config='configs/demo/pspnet_r18-w16-d8_3k_mmkd-demo.py',
                         checkpoint='work_dirs/demo/seg_teacher/iter_3000.pth'),
            discriminator=dict(type='mmkd.SegDiscriminator'),
            kd_terms=dict(
                pixel=dict(loss=dict(type='mmkd.PixelWiseKDLoss'),
                           inputs=['s_logits', 't_logits', 'valid_mask']),
                pair=dict(loss=dict(type='mmkd.PairWiseKDLoss'),
                          inputs=['s_decode_feat', 't_decode_feat']),
                holistic=dict(loss=dict(type='mmkd.HolisticAdversarialLoss'),
                              inputs=['s_logits', 't_logits'])))
    """

    TABLE = SEGMENTATION
    DEFAULT_SCOPE = 'mmseg'
    #: the dilated PSPNet R101-d8 teacher is 6% slower channels-last (its pyramid pooling head)
    TEACHER_CHANNELS_LAST = False

    def __init__(self, student, teacher, kd_terms=None, discriminator=None, disc_steps=1,
                 save_teacher=False, data_preprocessor=None, init_cfg=None, nonfinite='raise',
                 inherit=()):
        super().__init__(student, teacher, kd_terms, save_teacher, data_preprocessor, init_cfg,
                         nonfinite, inherit)
        s_head = self.decode_head(self.student, 'student')
        t_head = self.decode_head(self.teacher, 'teacher') if self.wants.teacher_head else None
        if {'s_logits', 't_logits'} <= self.needs and s_head.out_channels != t_head.out_channels:
            raise ValueError(f'the student predicts {s_head.out_channels} classes and the teacher '
                             f'{t_head.out_channels}: logit terms need the same classes.')
        self.capture = Capture()
        self._watch(self.student, s_head, 's_', 'student')
        if t_head is not None:
            self._watch(self.teacher, t_head, 't_', 'teacher')
        self.adversarial = self._adversarial_term()
        self.discriminator = self._build_discriminator(discriminator, s_head)
        if not isinstance(disc_steps, int) or disc_steps < 1:
            raise ValueError(f'model.disc_steps={disc_steps!r}: give a positive integer.')
        self.disc_steps = disc_steps
        self._adv_inputs = None
        self.align_terms('decode_inputs')

    # ----------------------------------------------------------------- parts
    @staticmethod
    def decode_head(segmentor, who):
        head = getattr(segmentor, 'decode_head', None)
        if head is None or isinstance(head, nn.ModuleList) or not hasattr(head, 'conv_seg'):
            raise ValueError(f'the {who} {type(segmentor).__name__} needs one decode head with a '
                             'classifier (conv_seg), as mmseg EncoderDecoder models have; '
                             f'got {type(head).__name__}.')
        return head

    def _watch(self, segmentor, head, prefix, side):
        """Forward hooks (:class:`Capture`): backbone and neck outputs, the classifier's feature
        before and after dropout and its output logits. mmseg's decode heads call
        ``self.forward`` directly, so the hooks sit on the modules they call."""
        def wants(stage):
            return getattr(self.wants, f'{side}_{stage}')
        if wants('backbone'):
            self.capture.keep(segmentor.backbone, prefix + 'backbone')
        if wants('decode_inputs') and segmentor.with_neck:
            self.capture.keep(segmentor.neck, prefix + 'neck')
        if wants('decode_feat'):
            first = head.dropout if head.dropout is not None else head.conv_seg
            self.capture.keep(first, prefix + 'decode_feat', first_input, pre=True)
        if wants('dropout_feat'):
            self.capture.keep(head.conv_seg, prefix + 'dropout_feat', first_input, pre=True)
        if wants('logits'):
            self.capture.keep(head.conv_seg, prefix + 'logits')

    def _adversarial_term(self):
        names = [n for n, t in self.kd_terms.items()
                 if getattr(t.loss_module, 'adversarial', False)]
        if len(names) > 1:
            raise ValueError(f'model.kd_terms {names} are all adversarial; one discriminator '
                             'trains against one term, keep one.')
        return names[0] if names else None

    def _build_discriminator(self, cfg, s_head):
        if self.adversarial is None:
            if cfg is not None:
                raise ValueError('model.discriminator is set but no KD term is adversarial, so it '
                                 "would never train; add e.g. holistic=dict(loss=dict(type='mmkd."
                                 "HolisticAdversarialLoss'), inputs=['s_logits', 't_logits']) "
                                 'or remove it.')
            return None
        if cfg is None:
            raise ValueError(f'model.kd_terms.{self.adversarial} is adversarial and needs '
                             "model.discriminator, e.g. dict(type='mmkd.SegDiscriminator').")
        cfg = dict(cfg)
        cfg.setdefault('num_classes', s_head.out_channels)
        cfg.setdefault('with_image', 'img' in self.kd_terms[self.adversarial].inputs)
        return build_model(cfg, 'mmkd')

    # ----------------------------------------------------------------- one step
    def loss(self, inputs, data_samples):
        """Student task losses plus ``loss_kd_<term>`` for every KD term."""
        active = self.active_terms()
        with self.capture() as captured:
            losses = self.student.loss(inputs, data_samples)
            knowledge = {k: v for k, v in captured.items() if k.startswith('s_')}
            if active:
                knowledge.update(self.teacher_knowledge(inputs, captured))
        if not active:
            return losses
        if self.wants.student_decode_inputs:
            knowledge['s_decode_inputs'] = knowledge.pop('s_neck', knowledge.get('s_backbone'))
        knowledge['img'] = inputs
        if self.wants.gt:
            knowledge['gt_seg'], knowledge['valid_mask'] = label_maps(
                data_samples, self.student.decode_head.ignore_index)
        head = self.student.decode_head
        for side in ('s', 't'):
            if f'{side}_region_feats' in self.needs:
                knowledge[f'{side}_region_feats'] = region_features(
                    as_fp32(knowledge[f'{side}_decode_feat']), knowledge['gt_seg'],
                    head.num_classes, head.ignore_index)
        for name in active:
            if name == self.adversarial:
                losses[f'loss_kd_{name}'] = self.run_adversarial(name, knowledge)
            else:
                losses[f'loss_kd_{name}'] = self.kd_terms[name](knowledge)
        return losses

    @torch.no_grad()
    def visual_maps(self, inputs, data_samples):
        """For the first image (panel ``logits``), at the student's logit resolution: the
        teacher's and the student's predicted class (``*_class``) and their confidence (largest
        probability), and their disagreement, half the L1 distance of the two class
        distributions (0 where they agree, 1 where they share no mass). Runs both models in eval
        mode."""
        was_training = self.training
        self.eval()
        try:
            s_logits = self.student.decode_head.forward(self.student.extract_feat(inputs[:1]))
            t_logits = self.teacher.decode_head.forward(
                self.teacher.extract_feat(self.teacher_input(inputs[:1])))
        finally:
            self.train(was_training)
        if t_logits.shape[-2:] != s_logits.shape[-2:]:
            t_logits = nn.functional.interpolate(t_logits, s_logits.shape[-2:],
                                                 mode='bilinear', align_corners=False)
        p_s, p_t = s_logits[0].softmax(0), t_logits[0].softmax(0)  # (K, h, w)
        return dict(logits=dict(
            teacher_class=p_t.argmax(0), student_class=p_s.argmax(0),
            teacher_confidence=p_t.max(0)[0], student_confidence=p_s.max(0)[0],
            disagreement=0.5 * (p_s - p_t).abs().sum(0)))

    @torch.no_grad()
    def teacher_knowledge(self, inputs, captured=None):
        """Runs the teacher only as deep as the terms read; the hooks keep what its head gives
        in ``captured`` (the step's capture, or one of its own)."""
        if captured is None:
            with self.capture() as captured:
                return self.teacher_knowledge(inputs, captured)
        wants_head = self.wants.teacher_head
        if not (wants_head or self.wants.teacher_backbone):
            return {}
        precision, inputs = self.teacher_precision(inputs)
        with precision:
            backbone = self.teacher.backbone(inputs)
            out = dict(t_backbone=backbone)
            if wants_head or self.wants.teacher_decode_inputs:
                out['t_decode_inputs'] = self.teacher.neck(backbone) if self.teacher.with_neck \
                    else backbone
            if wants_head:
                self.teacher.decode_head.forward(out['t_decode_inputs'])
                out.update({k: captured[k] for k in ('t_decode_feat', 't_dropout_feat',
                                                     't_logits') if k in captured})
        return out

    def run_adversarial(self, name, knowledge):
        """The student's side of the adversarial term; keeps its inputs, detached, for the
        discriminator's steps."""
        term = self.kd_terms[name]
        args = [None if k is None else as_fp32(knowledge[k]) for k in term.inputs]
        self._adv_inputs = [a.detach() if torch.is_tensor(a) else a for a in args]
        # the student's step: gradients reach the student through the discriminator, whose own
        # parameters are stepped only by discriminator_loss()
        with full_precision(knowledge['img'].device.type):
            return term.kd_weight * term.loss(frozen(self.discriminator), *args)

    def discriminator_loss(self):
        """The discriminator's losses on the maps of the last ``loss()`` call."""
        if self._adv_inputs is None:
            raise RuntimeError('discriminator_loss() needs a student step (loss()) first.')
        maps = [a for a in self._adv_inputs if torch.is_tensor(a)]
        with full_precision(maps[0].device.type):
            return self.kd_terms[self.adversarial].loss.discriminator_loss(
                self.discriminator, *self._adv_inputs)

    def train_step(self, data, optim_wrapper, ddp=None):
        """One student step and, with an adversarial term, ``disc_steps`` discriminator steps.

        A plain optim wrapper (no adversarial term) gives MMEngine's usual step. An
        ``OptimWrapperDict`` steps every wrapper but ``discriminator`` with the student's loss
        (backward once, through ``student``), then the discriminator's. Under
        ``KDDistributedDataParallel`` (``ddp``) the student's forward goes through DDP and the
        discriminator's gradients are averaged over the processes before each of its steps.
        """
        if not isinstance(optim_wrapper, OptimWrapperDict):
            if self.adversarial is not None:
                raise TypeError(
                    f'model.kd_terms.{self.adversarial} trains a discriminator, which needs its '
                    'own optimizer: set optim_wrapper=dict(constructor='
                    "'mmkd.MultiOptimWrapperConstructor', student=dict(...), "
                    'discriminator=dict(...)).')
            return super().train_step(data, optim_wrapper, ddp)
        missing = {'student', 'discriminator'} - set(optim_wrapper.keys()) \
            if self.adversarial is not None else {'student'} - set(optim_wrapper.keys())
        if missing:
            raise UnknownNameError(f'optim_wrapper has {sorted(optim_wrapper.keys())}, missing '
                                   f'{sorted(missing)}.')
        log_vars, stepped = self.joint_step(
            data, optim_wrapper['student'],
            [w for key, w in optim_wrapper.items() if key != 'discriminator'], ddp)
        if not stepped:
            self._adv_inputs = None
            return log_vars
        if self.adversarial is None or self.kd_terms[self.adversarial].stopped:
            return log_vars
        disc = optim_wrapper['discriminator']
        for _ in range(self.disc_steps):
            with disc.optim_context(self.discriminator):
                d_losses = self.discriminator_loss()
            d_parsed, d_log = self.parse_losses(d_losses)
            if self.skip_nonfinite(d_log, 'the discriminator'):
                break
            disc.backward(disc.scale_loss(d_parsed))
            if disc.should_update():
                average_gradients(self.discriminator.parameters())
                disc.step()
                disc.zero_grad()
        d_log.pop('loss')
        log_vars.update(d_log)
        self._adv_inputs = None
        return log_vars
