"""What every mmkd distiller shares: building the student and the frozen teacher, the KD terms and
their vocabulary, adapters, and keeping the teacher out of checkpoints."""
import copy
import math
import os.path as osp
from contextlib import contextmanager, nullcontext

import torch
import torch.nn as nn
from mmengine.config import Config, ConfigDict
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub, MMLogger, print_log
from mmengine.model import BaseModel
from mmengine.registry import DefaultScope

from mmkd.registry import MODELS
from mmkd.utils.checkpoint import load_checkpoint_file, load_matching_state, state_dict_of
from mmkd.utils.errors import UnknownNameError, did_you_mean
from .vocabulary import Wants

TERM_KEYS = ('loss', 'inputs', 'levels', 'adapter')
TEACHER_KEYS = ('config', 'checkpoint', 'dtype')
TEACHER_DTYPES = {None: None, 'float32': None, 'bfloat16': torch.bfloat16,
                  'float16': torch.float16}
NONFINITE = ('raise', 'skip')


def as_fp32(value):
    """``value`` (a tensor, or a list / tuple of them) in float32 where it is in half or
    bfloat16; anything else unchanged."""
    if isinstance(value, (list, tuple)):
        return type(value)(as_fp32(v) for v in value)
    if torch.is_tensor(value) and value.dtype in (torch.float16, torch.bfloat16):
        return value.float()
    return value


@contextmanager
def full_precision(device_type):
    """Switches autocast off inside (KD terms: softmax with temperature, KL, attention are
    computed in float32 under ``--amp``)."""
    if torch.is_autocast_enabled(device_type):
        with torch.autocast(device_type=device_type, enabled=False):
            yield
    else:
        yield


def model_config(spec, what, default_scope):
    """Reads a model config: an inline ``dict(type=...)``, or a config file (a path or a packaged
    ``mmdet::...`` / ``mmseg::...`` config) whose ``model`` is taken.

    Returns:
        tuple[ConfigDict, str]: the model config and the scope its types are registered in.
    """
    if isinstance(spec, (dict, ConfigDict)):
        return ConfigDict(copy.deepcopy(dict(spec))), default_scope
    if not isinstance(spec, str):
        raise TypeError(f'{what} must be a model dict or a config path, got {type(spec).__name__}')
    cfg = load_config(spec, what)
    if 'model' not in cfg:
        raise ValueError(f'{what}: config {spec!r} has no `model`.')
    return cfg.model, cfg.get('default_scope', default_scope) or default_scope


def load_config(spec, what='config'):
    """``Config.fromfile`` that also reads packaged configs (``mmdet::retinanet/...py``)."""
    if '::' in spec:
        from mmengine.hub import get_config
        try:
            return get_config(spec)
        except Exception as err:  # mmengine raises bare Exceptions for unknown package configs
            raise FileNotFoundError(f'{what}: packaged config {spec!r} not found: {err}') from None
    if not osp.isfile(spec):
        raise FileNotFoundError(f'{what}: config file {spec!r} does not exist.')
    return Config.fromfile(spec)


def build_model(cfg, scope):
    """Builds a model config with the registry of ``scope`` (mmdet / mmseg), whatever scope the
    runner runs in."""
    with DefaultScope.overwrite_default_scope(scope):
        return MODELS.build(cfg) if scope == 'mmkd' else _scope_registry(scope).build(cfg)


def _scope_registry(scope):
    from importlib import import_module
    return import_module(f'{scope}.registry').MODELS


def normalisation_of(preprocessor):
    """(mean, std, BGR -> RGB) of a data preprocessor's input normalisation: (0, 1) per channel
    when it does not normalise. The one reading of it for the teacher's conversion and for the
    members of mutual learning, who must agree."""
    enabled = getattr(preprocessor, '_enable_normalize', False)
    mean = preprocessor.mean.flatten().tolist() if enabled else [0.0] * 3
    std = preprocessor.std.flatten().tolist() if enabled else [1.0] * 3
    return mean, std, bool(getattr(preprocessor, '_channel_conversion', False))


class KDTermsModel(BaseModel):
    """What every mmkd model with KD terms shares, teacher or not: parsing ``kd_terms`` against
    the vocabulary, adapters, running a term on the named tensors, the weights the hooks schedule,
    non-finite losses and the loss-scale probe. :class:`BaseDistiller` adds the frozen teacher;
    :class:`MutualLearningDistiller` has peers instead."""

    #: {name: :class:`~mmkd.models.distillers.vocabulary.Entry`}: the vocabulary, one entry per
    #: name; each subclass sets its task's table, and the three below are derived from it.
    TABLE = {}
    #: {name: description}
    VOCABULARY = {}
    #: names whose value is a sequence with one tensor per level / stage.
    PER_LEVEL = ()
    #: feature names (without s_/t_) that adapters can align.
    ADAPTABLE = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if 'TABLE' in cls.__dict__:
            cls.VOCABULARY = {name: e.doc for name, e in cls.TABLE.items()}
            cls.PER_LEVEL = tuple(name for name, e in cls.TABLE.items() if e.per_level)
            cls.ADAPTABLE = tuple(name[2:] for name, e in cls.TABLE.items() if e.adaptable)

    def _init_terms(self, kd_terms, nonfinite):
        if nonfinite not in NONFINITE:
            raise ValueError(f'model.nonfinite={nonfinite!r}; use one of {NONFINITE}.')
        self.terms = self._parse_terms(kd_terms or {})
        #: the names the terms read, and the stages of the step they need (derived once)
        self.needs = {k for term in self.terms.values() for k in term['inputs'] if k is not None}
        self.wants = Wants(self.TABLE, self.needs)
        self.kd_losses = nn.ModuleDict({name: t.pop('loss') for name, t in self.terms.items()})
        self.kd_weights = {name: 1.0 for name in self.terms}
        #: terms switched off (``KDWeightScheduleHook``'s ``stop_at``): not computed at all
        self.stopped_terms = set()
        #: set by ``KDLossScaleHook``: the next ``parse_losses`` measures every loss's gradient
        self.loss_scale_probe = False
        self.loss_scale_report = None
        self.nonfinite = nonfinite
        self.skipped_steps = 0
        self.adapters = nn.ModuleDict()

    def student_parameters(self):
        """The parameters the KD terms train (the loss-scale probe measures gradients on them)."""
        raise NotImplementedError

    def visual_maps(self, inputs, data_samples):
        """Maps to draw for the first image of a batch, ``{panel: {name: (H, W) tensor}}``
        (``KDVisualizationHook``); each distiller says what it shows."""
        raise NotImplementedError(f'{type(self).__name__} draws no KD maps: remove '
                                  'mmkd.KDVisualizationHook from custom_hooks.')

    # ----------------------------------------------------------------- terms
    def vocabulary_help(self):
        return '\n'.join(f'  {name}: {doc}' for name, doc in self.VOCABULARY.items())

    def _parse_terms(self, kd_terms):
        terms = {}
        for name, spec in kd_terms.items():
            where = f'model.kd_terms.{name}'
            if not isinstance(spec, (dict, ConfigDict)) or 'loss' not in spec:
                raise ValueError(f'{where} must be dict(loss=dict(type=...), inputs=[...]).')
            unknown = set(spec) - set(TERM_KEYS)
            if unknown:
                raise ValueError(f'{where} has unknown keys {sorted(unknown)}; a term takes '
                                 f'{", ".join(TERM_KEYS)}.')
            inputs = list(spec.get('inputs', ()))
            if not inputs:
                raise ValueError(f'{where}.inputs is empty; name what the loss reads, from:\n'
                                 + self.vocabulary_help())
            for key in inputs:
                if key is not None and key not in self.VOCABULARY:
                    raise UnknownNameError(
                        f'{where}.inputs names {key!r}, which is not in the vocabulary of '
                        f'{type(self).__name__}.{did_you_mean(key, self.VOCABULARY)} Known '
                        'names:\n' + self.vocabulary_help())
            terms[name] = dict(loss=self._build_loss(spec['loss'], where), inputs=inputs,
                               levels=spec.get('levels', 'all'),
                               adapter=spec.get('adapter', 'auto'), loss_cfg=spec['loss'])
        return terms

    @staticmethod
    def _build_loss(cfg, where):
        try:
            with DefaultScope.overwrite_default_scope('mmkd'):
                return MODELS.build(cfg)
        except KeyError as err:
            known = sorted(k for k in MODELS.module_dict if k.endswith('Loss'))
            typed = str(cfg.get('type', '')).split('.')[-1]
            raise UnknownNameError(
                f'{where}.loss: {err.args[0] if err.args else err}{did_you_mean(typed, known)} '
                f'mmkd registers: {", ".join(known)}. A loss of your own must be registered with '
                '@MODELS.register_module() from mmkd.registry and imported '
                '(custom_imports=dict(imports=[...])).') from None

    def level_indices(self, name, num_levels):
        """The levels a term reads: all of them, or the configured list (checked)."""
        levels = self.terms[name]['levels']
        if levels == 'all' or levels is None:
            return list(range(num_levels))
        levels = [levels] if isinstance(levels, int) else list(levels)
        bad = [lv for lv in levels if not -num_levels <= lv < num_levels]
        if bad:
            raise IndexError(f'model.kd_terms.{name}.levels = {levels}: levels {bad} do not '
                             f'exist; the model gives {num_levels} levels (0..{num_levels - 1}).')
        return levels

    def build_adapters(self, s_shapes, t_shapes):
        """Creates one adapter per level for each term that reads a student / teacher feature
        pair (``s_neck`` with ``t_neck`` ...). ``adapter='auto'`` gives a :class:`ConvAdapter`
        (1x1 conv where the channels differ, resize where H x W differ), or none for a loss that
        needs none (``needs_adapter = False``: FGD aligns the channels itself, AT, RKD, SP and
        pair-wise KD compare maps or relations whose channels drop out); ``None`` gives none.

        Args:
            s_shapes, t_shapes (dict): {vocabulary name without s_/t_: [(C, H, W) per level]}.
        """
        logger = MMLogger.get_current_instance()
        for name, term in self.terms.items():
            for key in self.feature_pairs(name):
                levels = self.level_indices(name, len(s_shapes[key]))
                s_c = [s_shapes[key][lv][0] for lv in levels]
                t_c = [t_shapes[key][lv][0] for lv in levels]
                self._check_loss_channels(name, key, s_c, t_c)
                if not self._adapts(name):
                    continue
                adapter_cfg = dict(type='ConvAdapter') if term['adapter'] == 'auto' \
                    else dict(term['adapter'])
                with DefaultScope.overwrite_default_scope('mmkd'):
                    self.adapters[f'{name}_{key}'] = nn.ModuleList(
                        MODELS.build(dict(adapter_cfg, in_channels=cs, out_channels=ct))
                        for cs, ct in zip(s_c, t_c))
                if s_c != t_c:
                    logger.info(f'mmkd: term {name!r} aligns the student {key} channels {s_c} '
                                f"to the teacher's {t_c} with {adapter_cfg['type']} on levels "
                                f'{levels}')

    def _adapts(self, name):
        """Whether term ``name`` puts the student's features through an adapter: not with
        ``adapter=None``, nor with ``'auto'`` for a loss that needs none."""
        adapter = self.terms[name]['adapter']
        return adapter is not None and not (
            adapter == 'auto' and not getattr(self.kd_losses[name], 'needs_adapter', True))

    def _check_loss_channels(self, name, key, s_c, t_c):
        """A loss that takes ``student_channels`` / ``teacher_channels`` must be given the ones
        the models have (after the term's adapter, if any)."""
        loss = self.kd_losses[name]
        for attr, have in (('student_channels', t_c if self._adapts(name) else s_c),
                           ('teacher_channels', t_c)):
            want = getattr(loss, attr, None)
            if want is not None and any(c != want for c in have):
                who = attr.split('_')[0]
                raise ValueError(
                    f'model.kd_terms.{name}.loss.{attr}={want}, but the {who} {key} gives '
                    f'{sorted(set(have))} channels on the levels the term reads; set '
                    f'{attr}={have[0]}.')

    def replicate_losses(self, num_levels):
        """Gives each level its own copy of a loss that has parameters (FGD's context blocks and
        1x1 alignment), so that levels of different statistics do not share them, as in the
        papers. ``kd_losses[name]`` becomes an ``nn.ModuleList`` with one loss per level read.

        Args:
            num_levels (dict): {term name: the number of levels the model gives for the term's
                per-level inputs}.
        """
        for name, count in num_levels.items():
            loss = self.kd_losses[name]
            if getattr(loss, 'levels_at_once', False) or \
                    not any(True for _ in loss.parameters()):
                continue
            levels = self.level_indices(name, count)
            copies = [loss] + [self._build_loss(self.terms[name]['loss_cfg'],
                                                f'model.kd_terms.{name}')
                               for _ in levels[1:]]
            self.kd_losses[name] = nn.ModuleList(copies)

    def feature_pairs(self, name):
        """The feature names (without s_/t_) that term ``name`` reads from both sides."""
        inputs = self.terms[name]['inputs']
        return [k[2:] for k in inputs if k and k.startswith('s_') and f't_{k[2:]}' in inputs
                and k[2:] in self.ADAPTABLE]

    def active_terms(self):
        """The terms a step computes: all but the stopped ones, in config order."""
        return [name for name in self.terms if name not in self.stopped_terms]

    def adapter_at(self, key, level, num_levels):
        """The adapter some term puts the student's ``key`` features (``'neck'``, ...) of
        ``level`` through, or None."""
        for name in self.terms:
            found = self.adapters[f'{name}_{key}'] if f'{name}_{key}' in self.adapters else None
            levels = [lv % num_levels for lv in self.level_indices(name, num_levels)]
            if found is not None and level in levels:
                return found[levels.index(level)]
        return None

    def per_level_inputs(self, name):
        return [k for k in self.terms[name]['inputs'] if k in self.PER_LEVEL]

    def run_term(self, name, knowledge):
        """Calls term ``name``'s loss on the tensors it names and returns ``kd_weights[name] *``
        the result.

        Per-level inputs are indexed by the term's levels (student features through the term's
        adapter) and the loss is called once per level, the results summed; a loss with
        ``levels_at_once = True`` (FGFI, whose mask compares anchors of all levels) is called once
        with lists of the levels instead. Other inputs are passed whole.
        """
        with full_precision(knowledge['img'].device.type):
            return self._run_term(name, knowledge)

    def _run_term(self, name, knowledge):
        term = self.terms[name]
        loss_fn = self.kd_losses[name]
        per_level = self.per_level_inputs(name)
        if not per_level:
            return self.kd_weights[name] * loss_fn(*[None if k is None else as_fp32(knowledge[k])
                                                     for k in term['inputs']])
        levels = self.level_indices(name, len(knowledge[per_level[0]]))
        calls = []
        for i, lv in enumerate(levels):
            args = []
            for key in term['inputs']:
                if key is None:  # the loss's default for that argument
                    args.append(None)
                    continue
                value = as_fp32(knowledge[key][lv] if key in self.PER_LEVEL else knowledge[key])
                adapter = self.adapters[f'{name}_{key[2:]}'][i] \
                    if key.startswith('s_') and f'{name}_{key[2:]}' in self.adapters else None
                if adapter is not None:
                    value = adapter(value, knowledge['t_' + key[2:]][lv].shape[-2:])
                args.append(value)
            calls.append(args)
        if getattr(loss_fn, 'levels_at_once', False):
            args = [[call[j] for call in calls] if key in self.PER_LEVEL else calls[0][j]
                    for j, key in enumerate(term['inputs'])]
            return self.kd_weights[name] * loss_fn(*args)
        total = 0.
        for i, args in enumerate(calls):
            fn = loss_fn[i] if isinstance(loss_fn, nn.ModuleList) else loss_fn
            total = total + fn(*args)
        return self.kd_weights[name] * total

    def train_step(self, data, optim_wrapper, ddp=None):
        """MMEngine's step (``BaseModel.train_step``); under ``KDDistributedDataParallel`` the
        forward goes through ``ddp`` so that DDP averages the gradients."""
        model = ddp if ddp is not None else self
        with optim_wrapper.optim_context(model):
            data = self.data_preprocessor(data, True)
            losses = model._run_forward(data, mode='loss')
        parsed, log_vars = self.parse_losses(losses)
        if self.skip_nonfinite(log_vars):
            return log_vars
        optim_wrapper.update_params(parsed)
        return log_vars

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
            autocast in that type, channels-last, to save time; KD terms still get float32).
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

    def __init__(self, student, teacher, kd_terms=None, save_teacher=False,
                 data_preprocessor=None, init_cfg=None, nonfinite='raise', inherit=()):
        student_cfg, self.student_scope = model_config(student, 'model.student',
                                                       self.DEFAULT_SCOPE)
        built_student = build_model(student_cfg, self.student_scope)
        super().__init__(data_preprocessor=data_preprocessor or built_student.data_preprocessor,
                         init_cfg=init_cfg)
        self.student = built_student
        self.student_cfg = student_cfg
        self.teacher = self._build_teacher(teacher)
        self._check_teacher_normalisation()
        self.save_teacher = save_teacher
        self.inherit = self._check_inherit(inherit)
        self._init_terms(kd_terms, nonfinite)
        self._register_state_dict_hook(BaseDistiller._drop_teacher_state)
        self._register_load_state_dict_pre_hook(self._fill_teacher_state, with_module=False)

    # ----------------------------------------------------------------- teacher
    def _build_teacher(self, teacher):
        if not isinstance(teacher, (dict, ConfigDict)) or 'config' not in teacher:
            raise ValueError('model.teacher must be dict(config=<model dict or config path>, '
                             f'checkpoint=<path>), got {teacher!r}')
        unknown = set(teacher) - set(TEACHER_KEYS)
        if unknown:
            raise ValueError(f'model.teacher has unknown keys {sorted(unknown)}; '
                             f'it takes {", ".join(TEACHER_KEYS)}.')
        if teacher.get('dtype') not in TEACHER_DTYPES:
            raise ValueError(f"model.teacher.dtype={teacher.get('dtype')!r}; use one of "
                             f'{sorted(k for k in TEACHER_DTYPES if k)} or None.')
        self.teacher_dtype = TEACHER_DTYPES[teacher.get('dtype')]
        cfg, scope = model_config(teacher['config'], 'model.teacher.config', self.DEFAULT_SCOPE)
        self.teacher_cfg = cfg
        model = build_model(cfg, scope)
        checkpoint = teacher.get('checkpoint')
        if checkpoint is None:
            raise ValueError('model.teacher.checkpoint is not set: a distiller needs a trained '
                             "teacher. Train it first (tools/train.py on the teacher's config) "
                             'and name its checkpoint.')
        self.load_teacher_weights(model, checkpoint, teacher['config'])
        model.requires_grad_(False)
        model.eval()
        if self.teacher_dtype is not None:
            model.to(memory_format=torch.channels_last)
        # The runner calls init_weights() after building the model; it must not re-initialise the
        # teacher that was just loaded.
        model._is_init = True
        return model

    @staticmethod
    def load_teacher_weights(model, checkpoint, config_name):
        """Loads ``checkpoint`` (``weights_only=True``) into ``model``; raises naming the keys
        that are missing, unexpected or of another shape."""
        what = 'teacher checkpoint (model.teacher.checkpoint)'
        try:
            state = state_dict_of(load_checkpoint_file(checkpoint, what))
        except ValueError as err:
            raise ValueError(f'{what} {checkpoint!r}: {err}') from None
        source = config_name if isinstance(config_name, str) else 'the inline config'
        load_matching_state(model, state, f'{what} {checkpoint!r} does not match the teacher '
                            f'built from {source}')

    def _check_teacher_normalisation(self):
        """When the teacher's data preprocessor normalises differently from the student's (mean,
        std, BGR / RGB order), keeps what converts the student's input batch to the teacher's."""
        s_mean, s_std, s_rgb = normalisation_of(self.data_preprocessor)
        t_mean, t_std, t_rgb = normalisation_of(self.teacher.data_preprocessor)
        self._to_teacher = None
        if (s_mean, s_std, s_rgb) == (t_mean, t_std, t_rgb):
            return
        def column(values):
            return torch.tensor(values).view(1, -1, 1, 1)  # (1, C, 1, 1)
        self._to_teacher = dict(s_mean=column(s_mean), s_std=column(s_std),
                                t_mean=column(t_mean), t_std=column(t_std), flip=s_rgb != t_rgb)
        MMLogger.get_current_instance().info(
            f'mmkd: the teacher normalises its input differently (mean {t_mean}, std {t_std}, '
            f"{'RGB' if t_rgb else 'BGR'}) from the student (mean {s_mean}, std {s_std}, "
            f"{'RGB' if s_rgb else 'BGR'}); the student's input is converted for it.")

    def teacher_input(self, inputs):
        """The student's preprocessed batch as the teacher's own preprocessing would give it:
        un-normalised with the student's mean / std, channels swapped if the two differ in BGR /
        RGB order, normalised with the teacher's. Padding (0 after the student's normalisation)
        becomes the student's mean colour."""
        if self._to_teacher is None:
            return inputs
        c = {k: v.to(inputs.device) if torch.is_tensor(v) else v
             for k, v in self._to_teacher.items()}
        raw = inputs * c['s_std'] + c['s_mean']
        if c['flip']:
            raw = raw.flip(1)
        return (raw - c['t_mean']) / c['t_std']

    def teacher_precision(self, inputs):
        """The context the teacher runs in, autocast to ``model.teacher.dtype`` if set, and the
        image batch to give it (converted to the teacher's normalisation, channels-last with a
        reduced-precision teacher)."""
        if inputs.dim() == 4:
            inputs = self.teacher_input(inputs)
        if self.teacher_dtype is None:
            return nullcontext(), inputs
        if inputs.dim() == 4:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        return torch.autocast(device_type=inputs.device.type, dtype=self.teacher_dtype), inputs

    def train(self, mode=True):
        """The teacher stays in eval mode (BatchNorm statistics, dropout) whatever ``mode`` is."""
        super().train(mode)
        self.teacher.eval()
        return self

    def _check_inherit(self, inherit):
        """``model.inherit`` as a list of student module names, each checked against the teacher:
        the error names the module and the parameters that are missing or of another shape."""
        names = [inherit] if isinstance(inherit, str) else list(inherit or ())
        s_state, t_state = self.student.state_dict(), self.teacher.state_dict()
        for name in names:
            keys = [k for k in s_state if k.startswith(name + '.')]
            if not keys:
                children = [n for n, _ in self.student.named_children()]
                raise ValueError(f'model.inherit names {name!r}, which the student '
                                 f'{type(self.student).__name__} does not have (its modules: '
                                 f'{", ".join(children)}).')
            missing = [k for k in keys if k not in t_state]
            other = [f'{k} {tuple(s_state[k].shape)} vs {tuple(t_state[k].shape)}'
                     for k in keys if k in t_state and t_state[k].shape != s_state[k].shape]
            if missing or other:
                shown = ([f'{k} (not in the teacher)' for k in missing[:5]] + other[:5])
                raise ValueError(
                    f'model.inherit: the student {name} cannot start from the teacher\'s: '
                    f'{len(missing)} missing and {len(other)} of another shape (student vs '
                    f'teacher), e.g. {"; ".join(shown)}. Inherit only modules the two models '
                    'share the shapes of, or leave model.inherit empty.')
        return names

    def init_weights(self):
        """The student's own initialisation, then the teacher's weights copied into the
        modules of ``model.inherit``."""
        super().init_weights()
        if not self.inherit:
            return
        t_state = self.teacher.state_dict()
        with torch.no_grad():
            for key, value in self.student.state_dict().items():
                if any(key.startswith(name + '.') for name in self.inherit):
                    value.copy_(t_state[key])
        MMLogger.get_current_instance().info(
            f'mmkd: the student\'s {", ".join(self.inherit)} start from the teacher\'s weights '
            '(model.inherit).')

    @staticmethod
    def _drop_teacher_state(module, state_dict, prefix, local_metadata):
        if not module.save_teacher:
            for key in [k for k in state_dict if k.startswith(prefix + 'teacher.')]:
                del state_dict[key]
        return state_dict

    def _fill_teacher_state(self, state_dict, prefix, *args):
        # Checkpoints hold no teacher by default: keep the loaded teacher instead of reporting
        # its weights as missing.
        for key, value in self.teacher.state_dict(prefix=prefix + 'teacher.').items():
            state_dict.setdefault(key, value)

    # ----------------------------------------------------------------- student
    def student_parameters(self):
        return self.student.parameters()

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.student(inputs, data_samples, mode)

    def loss(self, inputs, data_samples):
        raise NotImplementedError

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
