"""What every mmkd distiller shares: its KD terms and the step over them (the NaN policy, the
loss-scale probe), and, for the distillers with a teacher, the student / teacher pair.

The parts live beside it: ``terms.py`` (one :class:`KDTerm` per entry of ``model.kd_terms``),
``teacher.py`` (building, loading, normalising and checkpointing the frozen teacher),
``build.py`` (reading and building model configs) and ``vocabulary.py`` (the names a term reads).
"""
import math

import torch
import torch.nn as nn
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub, print_log
from mmengine.model import BaseModel

from .build import build_model, model_config
from .teacher import (InputConversion, build_teacher, check_inherit, copy_inherited,
                      drop_teacher_state, fill_teacher_state, teacher_precision)
from .terms import KDTerm, map_old_term_keys, vocabulary_help
from .vocabulary import Wants

NONFINITE = ('raise', 'skip')


def step_together(main, wrappers):
    """A step of each of ``wrappers`` after one backward under ``main``. Under mixed precision
    the loss was scaled by ``main``'s scaler alone, so every wrapper's gradients are unscaled,
    checked for Inf / NaN and stepped by that scaler, and the scale is updated once for the
    step (a wrapper stepping with its own scaler would unscale by a scale the loss never had).
    """
    scaler = getattr(main, 'loss_scaler', None)
    if scaler is None or len(wrappers) == 1:
        for wrapper in wrappers:
            wrapper.step()
            wrapper.zero_grad()
        return
    plain = [type(w).__name__ for w in wrappers if not hasattr(w, 'loss_scaler')]
    if plain:
        raise TypeError(
            f'the optimizer wrappers of one backward mix mixed precision ({type(main).__name__})'
            f' with {", ".join(plain)}: give every part of optim_wrapper the same type '
            "(type='AmpOptimWrapper' for all, or for none).")
    for wrapper in wrappers:
        if wrapper.clip_grad_kwargs:
            scaler.unscale_(wrapper.optimizer)
            wrapper._clip_grad()  # mmengine's clipping (and its grad_norm log), on unscaled grads
        scaler.step(wrapper.optimizer)
    scaler.update(getattr(main, '_scale_update_param', None))
    for wrapper in wrappers:
        wrapper.zero_grad()


class KDTermsModel(BaseModel):
    """What every mmkd model with KD terms shares, teacher or not: its terms (``self.kd_terms``,
    one :class:`KDTerm` each, built from ``model.kd_terms`` against the vocabulary), the stages
    they need, non-finite losses and the loss-scale probe. :class:`BaseDistiller` adds the
    frozen teacher; :class:`MutualLearningDistiller` has peers instead."""

    #: {name: :class:`~mmkd.models.distillers.vocabulary.Entry`}: the vocabulary, one entry per
    #: name; each subclass sets its task's table.
    TABLE = {}

    def _init_terms(self, kd_terms, nonfinite):
        if nonfinite not in NONFINITE:
            raise ValueError(f'model.nonfinite={nonfinite!r}; use one of {NONFINITE}.')
        owner = type(self).__name__
        #: {name: KDTerm}, in config order
        self.kd_terms = nn.ModuleDict({name: KDTerm(name, spec, self.TABLE, owner)
                                       for name, spec in (kd_terms or {}).items()})
        #: the names the terms read, and the stages of the step they need (derived once)
        self.needs = {k for term in self.kd_terms.values() for k in term.inputs if k is not None}
        self.wants = Wants(self.TABLE, self.needs)
        #: set by ``KDLossScaleHook``: the next ``parse_losses`` measures every loss's gradient
        self.loss_scale_probe = False
        self.loss_scale_report = None
        self.nonfinite = nonfinite
        self.skipped_steps = 0
        self._register_load_state_dict_pre_hook(self._map_old_term_keys, with_module=False)

    def _map_old_term_keys(self, state_dict, prefix, *args):
        map_old_term_keys(state_dict, prefix, self.kd_terms)

    def vocabulary_help(self):
        return vocabulary_help(self.TABLE)

    def active_terms(self):
        """The terms a step computes: all but the stopped ones, in config order."""
        return [name for name, term in self.kd_terms.items() if not term.stopped]

    def student_parameters(self):
        """The parameters the KD terms train (the loss-scale probe measures gradients on them)."""
        raise NotImplementedError

    def visual_maps(self, inputs, data_samples):
        """Maps to draw for the first image of a batch, ``{panel: {name: (H, W) tensor}}``
        (``KDVisualizationHook``); each distiller says what it shows."""
        raise NotImplementedError(f'{type(self).__name__} draws no KD maps: remove '
                                  'mmkd.KDVisualizationHook from custom_hooks.')

    def train_step(self, data, optim_wrapper, ddp=None):
        """MMEngine's step (``BaseModel.train_step``); under ``KDDistributedDataParallel`` the
        forward goes through ``ddp`` so that DDP averages the gradients."""
        return self.joint_step(data, optim_wrapper, [optim_wrapper], ddp)[0]

    def joint_step(self, data, main, wrappers, ddp=None, what='the student'):
        """One forward and one backward of every loss under ``main`` (its autocast context, loss
        scaling and gradient accumulation), then a step of each of ``wrappers`` (the parts of a
        model with one optimizer per part). A step with a NaN / Inf loss is skipped or raises
        (``model.nonfinite``).

        Returns:
            tuple[dict, bool]: the log variables, and whether the step was taken.
        """
        model = ddp if ddp is not None else self
        with main.optim_context(model):
            data = self.data_preprocessor(data, True)
            losses = model._run_forward(data, mode='loss')
        parsed, log_vars = self.parse_losses(losses)
        if self.skip_nonfinite(log_vars, what):
            return log_vars, False
        main.backward(main.scale_loss(parsed))
        if main.should_update():
            step_together(main, wrappers)
        return log_vars, True

    def skip_nonfinite(self, log_vars, what='the student'):
        """Whether this step must be skipped because a loss is NaN / Inf (in any process);
        raises instead with ``nonfinite='raise'``, naming the losses and the iteration."""
        values = {k: float(v.detach() if torch.is_tensor(v) else v)
                  for k, v in log_vars.items() if 'loss' in k}
        bad = {k: v for k, v in values.items() if not math.isfinite(v)}
        flag = torch.tensor(float(bool(bad)))
        if get_world_size() > 1:
            all_reduce(flag, op='max')
        if not flag.item():
            return False
        iteration = MessageHub.get_current_instance().get_info('iter')
        shown = ', '.join(f'{k}={v}' for k, v in bad.items()) or 'a loss in another process'
        if self.nonfinite == 'raise':
            raise FloatingPointError(
                f'{shown} at iteration {iteration} ({what}\'s step). For a KD term, lower its '
                'loss_weight or check what it reads; set model.nonfinite=\'skip\' to skip such '
                'steps instead of stopping.')
        self.skipped_steps += 1
        print_log(f'mmkd: skipped the update of {what} at iteration {iteration}: {shown}; '
                  f'{self.skipped_steps} step(s) skipped so far.', logger='current', level=30)
        return True

    # ----------------------------------------------------------------- loss scale
    def parse_losses(self, losses):
        if self.loss_scale_probe:
            self.loss_scale_probe = False
            self.loss_scale_report = self.measure_loss_scale(losses)
        return super().parse_losses(losses)

    def measure_loss_scale(self, losses):
        """The value of the task loss (every ``*loss*`` key but the KD terms', summed) and of
        each KD term, and the L2 norm of each one's gradient on the student's parameters (all
        members' in mutual learning, each term summed over the members).

        Returns:
            dict: ``{'task' | term: dict(loss=float, grad_norm=float)}``.
        """
        params = [p for p in self.student_parameters() if p.requires_grad]

        def total(value):
            return sum(value) if isinstance(value, (list, tuple)) else value

        def term(key):  # 'loss_kd_<term>', or '<member>.loss_kd_<term>' (mutual learning)
            last = key.split('.')[-1]
            return last[len('loss_kd_'):] if last.startswith('loss_kd_') else None

        parts = dict(task=sum(total(v) for k, v in losses.items()
                              if 'loss' in k and term(k) is None))
        for key, value in losses.items():  # a term's value summed over the members
            if term(key) is not None:
                parts[term(key)] = parts.get(term(key), 0.) + total(value)
        report = {}
        for name, value in parts.items():
            norm = 0.0
            if torch.is_tensor(value) and value.requires_grad:
                grads = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True)
                norm = float(sum(g.double().pow(2).sum() for g in grads if g is not None)) ** 0.5
            report[name] = dict(loss=float(value.detach() if torch.is_tensor(value) else value),
                                grad_norm=norm)
        return report



def is_distiller(model):
    """Whether ``model``, or the module a DDP wrapper holds, is an mmkd distiller: KD terms over a
    student and a frozen teacher, or mutual learning's students. The one test of it the hooks,
    loops and wrappers use."""
    return isinstance(getattr(model, 'module', model), KDTermsModel)


class BaseDistiller(KDTermsModel):
    """Owns a student and a frozen teacher and builds the KD terms.

    Args:
        student (dict | str): the student's model dict, or a config file whose ``model`` it is.
        teacher (dict): ``config`` (model dict or config file, packaged ``mmdet::`` configs work),
            ``checkpoint`` (path of the teacher's weights, loaded with ``weights_only=True``),
            ``dtype`` (optional, ``'bfloat16'`` or ``'float16'``: the frozen teacher runs under
            autocast in that type, channels-last, to save time; KD terms still get float32),
            ``channels_last`` (optional: the teacher's layout; unset, the distiller's
            ``TEACHER_CHANNELS_LAST``, see :func:`~.teacher.build_teacher`).
        kd_terms (dict): ``{name: dict(loss=..., inputs=[...], levels=..., adapter=...)}``, see
            ``docs/design.md``. Each term adds ``loss_kd_<name>`` to the losses.
        save_teacher (bool): write the teacher's weights into checkpoints. Defaults to False.
        data_preprocessor: defaults to the student's own.
        nonfinite (str): what a step does when a loss is NaN or Inf: ``'raise'`` (default; the
            error names the loss and the iteration) or ``'skip'`` (no update that step; a warning
            counts the skipped steps).
        inherit (list[str]): student modules that start from the teacher's weights, e.g.
            ``['neck', 'bbox_head']`` (FGD's inheriting strategy, Yang et al., CVPR 2022,
            Sec. 4.1): copied in ``init_weights()``, after the student's own initialisation and
            before a resume or ``load_from``. Every parameter and buffer of a named module must
            exist in the teacher with the same shape; otherwise the error lists those that do
            not. Defaults to none.
    """

    #: the scope of student / teacher types when a config does not name one.
    DEFAULT_SCOPE = 'mmdet'
    #: the teacher's layout when ``model.teacher.channels_last`` is unset: channels-last for
    #: detectors, whose backbone and neck are faster in it on the CPU (``docs/benchmarks.md``).
    TEACHER_CHANNELS_LAST = True

    def __init__(self, student, teacher, kd_terms=None, save_teacher=False,
                 data_preprocessor=None, init_cfg=None, nonfinite='raise', inherit=()):
        student_cfg, self.student_scope = model_config(student, 'model.student',
                                                       self.DEFAULT_SCOPE)
        built_student = build_model(student_cfg, self.student_scope)
        super().__init__(data_preprocessor=data_preprocessor or built_student.data_preprocessor,
                         init_cfg=init_cfg)
        self.student = built_student
        self.student_cfg = student_cfg
        (self.teacher, self.teacher_cfg, self.teacher_dtype,
         self.teacher_channels_last) = build_teacher(teacher, self.DEFAULT_SCOPE,
                                                     self.TEACHER_CHANNELS_LAST)
        #: converts the student's batch to the teacher's normalisation, or None when they agree
        self.to_teacher = InputConversion.between(self.data_preprocessor,
                                                  self.teacher.data_preprocessor)
        self.save_teacher = save_teacher
        self.inherit = check_inherit(self.student, self.teacher, inherit)
        self._init_terms(kd_terms, nonfinite)
        self._register_state_dict_hook(drop_teacher_state)
        self._register_load_state_dict_pre_hook(self._fill_teacher_state, with_module=False)

    def _fill_teacher_state(self, state_dict, prefix, *args):
        fill_teacher_state(self.teacher, state_dict, prefix)

    def teacher_input(self, inputs):
        """The student's preprocessed batch in the teacher's normalisation."""
        return inputs if self.to_teacher is None else self.to_teacher(inputs)

    def teacher_precision(self, inputs):
        """The context the teacher runs in, autocast to ``model.teacher.dtype`` if set, and the
        image batch to give it (converted to the teacher's normalisation, channels-last unless
        ``model.teacher.channels_last=False``)."""
        if inputs.dim() == 4:
            inputs = self.teacher_input(inputs)
        return teacher_precision(self.teacher_dtype, self.teacher_channels_last, inputs)

    def train(self, mode=True):
        """The teacher stays in eval mode (BatchNorm statistics, dropout) whatever ``mode`` is."""
        super().train(mode)
        self.teacher.eval()
        return self

    def init_weights(self):
        """The student's own initialisation, then the teacher's weights copied into the
        modules of ``model.inherit``."""
        super().init_weights()
        if self.inherit:
            copy_inherited(self.student, self.teacher, self.inherit)

    # ----------------------------------------------------------------- student
    def student_parameters(self):
        return self.student.parameters()

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.student(inputs, data_samples, mode)

    def loss(self, inputs, data_samples):
        raise NotImplementedError

    def align_terms(self, neck_name):
        """Builds the terms' adapters and gives the per-level copies to the losses with
        parameters, from the shapes of the features on a probe image.

        Args:
            neck_name (str): the vocabulary's name (without ``s_`` / ``t_``) of the neck's
                outputs (the backbone's, for a model without a neck): ``neck`` for a detector,
                ``decode_inputs`` for a segmentor. A per-level input that is neither these nor
                ``backbone`` (a head output) has the neck's level count.
        """
        def features(model):
            def run(img):
                backbone = model.backbone(img)
                neck = model.neck(backbone) if model.with_neck else backbone
                return {'backbone': backbone, neck_name: neck}
            return run

        terms = self.kd_terms.values()
        learnable = [t for t in terms if t.per_level and any(True for _ in t.loss.parameters())]
        if not learnable and not any(t.pairs for t in terms):
            return
        s_shapes = self.probe_shapes(features(self.student))
        t_shapes = self.probe_shapes(features(self.teacher))
        for term in terms:
            term.build_adapters(s_shapes, t_shapes)
        for term in learnable:
            key = term.per_level[0][2:]
            term.replicate(len(s_shapes[key if key in s_shapes else neck_name]))

    @torch.no_grad()
    def probe_shapes(self, module_fn, size=128):
        """Runs ``module_fn`` on a zero image (1, 3, size, size) and returns the (C, H, W) of
        every output it returns, by name."""
        was_training = self.training
        self.eval()
        try:
            device = next(self.student.parameters()).device
            outs = module_fn(torch.zeros(1, 3, size, size, device=device))
        finally:
            self.train(was_training)
        return {k: [tuple(t.shape[1:]) for t in v] for k, v in outs.items()}
