"""One KD term as one module: what it reads, its loss (one per level where the loss has
parameters), its adapters, the levels it reads, its weight and whether it has stopped.

A distiller holds its terms in ``self.kd_terms`` (an ``nn.ModuleDict`` in config order), so one
term's state is one object: ``distiller.kd_terms['fgd'].loss``, ``.adapters['neck']``,
``.kd_weight`` (the schedule's factor on top of the loss's own ``loss_weight``, set by
``KDWeightScheduleHook``), ``.stopped``. Its checkpoint keys are ``kd_terms.<name>.loss.*``
and ``kd_terms.<name>.adapters.<feature>.<i>.*``; checkpoints written before the terms were
modules (``kd_losses.<name>.*``, ``adapters.<name>_<feature>.*``) are mapped to these on
loading (:func:`map_old_term_keys`).
"""
from contextlib import contextmanager

import torch
import torch.nn as nn
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger

from mmkd.models.losses.utils import resize_to
from mmkd.registry import MODELS
from mmkd.utils.errors import UnknownNameError, did_you_mean
from .build import build_model

TERM_KEYS = ('loss', 'inputs', 'levels', 'teacher_levels', 'adapter')


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


def build_loss(cfg, where):
    """Builds a KD loss from its config in the mmkd scope; an unknown type names the closest
    registered loss and says how to register one."""
    try:
        return build_model(cfg, 'mmkd')
    except KeyError as err:
        known = sorted(k for k in MODELS.module_dict if k.endswith('Loss'))
        typed = str(cfg.get('type', '')).split('.')[-1]
        raise UnknownNameError(
            f'{where}.loss: {err.args[0] if err.args else err}{did_you_mean(typed, known)} '
            f'mmkd registers: {", ".join(known)}. A loss of your own must be registered with '
            '@MODELS.register_module() from mmkd.registry and imported '
            '(custom_imports=dict(imports=[...])).') from None


def _missing_levels(levels, num_levels):
    """The entries of ``levels`` that index no level of ``num_levels`` (negative ones count
    from the end, as in Python)."""
    return [lv for lv in levels if not -num_levels <= lv < num_levels]


def vocabulary_help(table):
    return '\n'.join(f'  {name}: {e.doc}' for name, e in table.items())


class KDTerm(nn.Module):
    """One entry of ``model.kd_terms``: ``dict(loss=..., inputs=[...], levels=..., adapter=...)``,
    and ``teacher_levels=[...]`` where the teacher's levels are not the student's (a Faster R-CNN
    teacher's FPN starts at P2, a RetinaNet student's at P3: ``levels=[0, 1, 2, 3]``,
    ``teacher_levels=[1, 2, 3, 4]`` pairs them by stride).

    Args:
        name (str): the term's name; its loss is logged as ``loss_kd_<name>``.
        spec (dict): the term's config, checked against ``table``.
        table (dict): the distiller's vocabulary, ``{name: Entry}``.
        owner (str): the distiller's class name, for errors.

    A loss may declare, as class attributes: ``needs_adapter = False`` (it compares the two
    sides' features without a channel adapter: FGD aligns channels itself, AT, RKD, SP and
    pair-wise KD compare maps or relations whose channels drop out), ``levels_at_once = True``
    (called once with lists of the levels, FGFI) and ``student_channels`` / ``teacher_channels``
    (checked against the models).
    """

    def __init__(self, name, spec, table, owner):
        super().__init__()
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
                             + vocabulary_help(table))
        for key in inputs:
            if key is not None and key not in table:
                raise UnknownNameError(
                    f'{where}.inputs names {key!r}, which is not in the vocabulary of '
                    f'{owner}.{did_you_mean(key, table)} Known names:\n' + vocabulary_help(table))
        self.name = name
        self.where = where
        #: the vocabulary names the loss reads, in the order of its arguments (None: its default)
        self.inputs = inputs
        #: of them, those holding one tensor per level
        self.per_level = [k for k in inputs if k is not None and table[k].per_level]
        #: feature names (without s_/t_) read from both sides that an adapter can align
        self.pairs = [k[2:] for k in inputs if k and k.startswith('s_') and f't_{k[2:]}' in inputs
                      and table[k].adaptable]
        #: teacher maps resized to the student's H x W when they differ (a SegFormer teacher's
        #: logits at 1/4 of the input for a dilated ResNet student's at 1/8)
        self.resized = [k for k in inputs if k and k.startswith('t_') and table[k].resized
                        and f's_{k[2:]}' in inputs]
        self.levels = spec.get('levels', 'all')
        #: the teacher's level read with each student level (None: the same index)
        self.teacher_levels = spec.get('teacher_levels')
        if self.teacher_levels is not None:
            if isinstance(self.teacher_levels, int):
                self.teacher_levels = [self.teacher_levels]
            self.teacher_levels = list(self.teacher_levels)
            if self.levels in ('all', None):
                raise ValueError(f'{where}.teacher_levels = {self.teacher_levels} needs the '
                                 f'student levels it pairs with: set {where}.levels to a list '
                                 'of the same length.')
        self.adapter_cfg = spec.get('adapter', 'auto')
        self.loss_cfg = spec['loss']
        #: the loss; an ``nn.ModuleList`` of one copy per level read after :meth:`replicate`
        self.loss = build_loss(spec['loss'], where)
        #: {feature name: ``nn.ModuleList`` with one adapter per level read}
        self.adapters = nn.ModuleDict()
        #: the weight the step multiplies the loss by (``KDWeightScheduleHook`` sets it)
        self.kd_weight = 1.0
        #: past its ``stop_at``: the step does not compute it at all
        self.stopped = False

    def extra_repr(self):
        pairs = '' if self.teacher_levels is None else f', teacher_levels={self.teacher_levels}'
        return f'{self.name!r}, inputs={self.inputs}, levels={self.levels!r}{pairs}'

    @property
    def loss_module(self):
        """The loss (the first level's copy after :meth:`replicate`): its declared attributes."""
        return self.loss[0] if isinstance(self.loss, nn.ModuleList) else self.loss

    @property
    def adapts(self):
        """Whether the student's features go through an adapter: not with ``adapter=None``, nor
        with ``'auto'`` for a loss that needs none."""
        return self.adapter_cfg is not None and not (
            self.adapter_cfg == 'auto' and not getattr(self.loss_module, 'needs_adapter', True))

    def level_indices(self, num_levels):
        """The levels the term reads: all of them, or the configured list (checked)."""
        levels = self.levels
        if levels == 'all' or levels is None:
            return list(range(num_levels))
        levels = [levels] if isinstance(levels, int) else list(levels)
        missing = _missing_levels(levels, num_levels)
        if missing:
            raise IndexError(f'{self.where}.levels = {levels}: levels {missing} do not exist; '
                             f'the model gives {num_levels} levels (0..{num_levels - 1}).')
        return levels

    def teacher_level_indices(self, num_levels, num_teacher_levels):
        """The teacher's level read with each of :meth:`level_indices` (checked): the same
        ones, or ``teacher_levels``."""
        levels = self.level_indices(num_levels)
        if self.teacher_levels is None:
            if _missing_levels(levels, num_teacher_levels):
                raise IndexError(
                    f'{self.where} reads the student levels {levels}; the teacher gives '
                    f'{num_teacher_levels} levels (0..{num_teacher_levels - 1}), the student '
                    f'{num_levels}. Set {self.where}.levels to the student levels to read and '
                    'teacher_levels to the teacher level of the same stride for each.')
            return levels
        pairs = self.teacher_levels
        if len(pairs) != len(levels):
            raise ValueError(f'{self.where}.teacher_levels = {pairs} pairs {len(pairs)} teacher '
                             f'levels with the {len(levels)} student levels {levels}; give one '
                             'teacher level for each.')
        missing = _missing_levels(pairs, num_teacher_levels)
        if missing:
            raise IndexError(f'{self.where}.teacher_levels = {pairs}: levels {missing} do not '
                             f'exist; the teacher gives {num_teacher_levels} levels '
                             f'(0..{num_teacher_levels - 1}).')
        return pairs

    def check_level_sizes(self, key, s_shapes, t_shapes):
        """The student's and the teacher's ``key`` levels the term pairs must have the same H x W
        when the teacher has a level of the student's size elsewhere: that is a level of another
        stride (a Faster R-CNN FPN starts at P2, a RetinaNet's at P3), which an adapter's resize
        would compare with it silently. The error gives the ``teacher_levels`` that pairs them.
        Only a teacher pyramid whose levels all differ in size is checked: where stages share
        a size (a dilated segmentation backbone), or no teacher level has the student's size,
        the adapter's resize stays. Given ``teacher_levels``, the pairs are the user's (MMRazor's
        PKD config for a Mask R-CNN Swin teacher pairs a RetinaNet's P3-P6 with P2-P5, the
        student's maps resized)."""
        if self.teacher_levels is not None:
            return
        levels = self.level_indices(len(s_shapes))
        pairs = self.teacher_level_indices(len(s_shapes), len(t_shapes))
        sizes = [shape[1:] for shape in t_shapes]
        if len(set(sizes)) != len(sizes):
            return
        wrong = [(lv, tl) for lv, tl in zip(levels, pairs)
                 if s_shapes[lv][1:] != t_shapes[tl][1:] and s_shapes[lv][1:] in sizes]
        if not wrong:
            return
        matched = [lv for lv in levels if s_shapes[lv][1:] in sizes]
        same = [sizes.index(s_shapes[lv][1:]) for lv in matched]
        lv, tl = wrong[0]
        raise ValueError(
            f"{self.where}: the student's {key} level {lv} is {s_shapes[lv][1]}x{s_shapes[lv][2]} "
            f"on a 128x128 probe image, the teacher's level {tl} is "
            f'{t_shapes[tl][1]}x{t_shapes[tl][2]}: they have different strides. Pair the levels '
            f'of the same stride: levels={matched}, teacher_levels={same} (the teacher gives '
            f'{len(t_shapes)} levels, the student {len(s_shapes)}); or, to compare these levels '
            f"resized to the teacher's, say so: levels={levels}, teacher_levels={pairs}.")

    def build_adapters(self, s_shapes, t_shapes):
        """One adapter per level read for each student / teacher feature pair the term reads
        (``s_neck`` with ``t_neck`` ...). ``adapter='auto'`` gives a :class:`ConvAdapter` (1x1
        conv where the channels differ, resize where H x W differ), or none for a loss that needs
        none; ``None`` gives none.

        Args:
            s_shapes, t_shapes (dict): {feature name without s_/t_: [(C, H, W) per level]}.
        """
        for key in self.pairs:
            self.check_level_sizes(key, s_shapes[key], t_shapes[key])
            levels = self.level_indices(len(s_shapes[key]))
            t_levels = self.teacher_level_indices(len(s_shapes[key]), len(t_shapes[key]))
            s_c = [s_shapes[key][lv][0] for lv in levels]
            t_c = [t_shapes[key][lv][0] for lv in t_levels]
            self._check_loss_channels(key, s_c, t_c)
            if not self.adapts:
                continue
            cfg = dict(type='ConvAdapter') if self.adapter_cfg == 'auto' \
                else dict(self.adapter_cfg)
            self.adapters[key] = nn.ModuleList(
                build_model(dict(cfg, in_channels=cs, out_channels=ct), 'mmkd')
                for cs, ct in zip(s_c, t_c))
            if s_c != t_c:
                MMLogger.get_current_instance().info(
                    f'mmkd: term {self.name!r} aligns the student {key} channels {s_c} to the '
                    f"teacher's {t_c} with {cfg['type']} on levels {levels}"
                    + ('' if t_levels == levels else f' (teacher levels {t_levels})'))

    def _check_loss_channels(self, key, s_c, t_c):
        """A loss that takes ``student_channels`` / ``teacher_channels`` must be given the ones
        the models have (after the term's adapter, if any)."""
        for attr, have in (('student_channels', t_c if self.adapts else s_c),
                           ('teacher_channels', t_c)):
            want = getattr(self.loss_module, attr, None)
            if want is not None and any(c != want for c in have):
                who = attr.split('_')[0]
                raise ValueError(
                    f'{self.where}.loss.{attr}={want}, but the {who} {key} gives '
                    f'{sorted(set(have))} channels on the levels the term reads; set '
                    f'{attr}={have[0]}.')

    def replicate(self, num_levels):
        """Gives each level read its own copy of a loss that has parameters (FGD's context blocks
        and 1x1 alignment), so that levels of different statistics do not share them, as in the
        papers. ``num_levels``: how many levels the model gives for the per-level inputs."""
        if isinstance(self.loss, nn.ModuleList) or getattr(self.loss, 'levels_at_once', False) \
                or not any(True for _ in self.loss.parameters()):
            return
        copies = [build_loss(self.loss_cfg, self.where)
                  for _ in self.level_indices(num_levels)[1:]]
        self.loss = nn.ModuleList([self.loss] + copies)

    def _read_levels(self, num_levels):
        """:meth:`level_indices` counted from 0 (negative levels resolved)."""
        return [lv % num_levels for lv in self.level_indices(num_levels)]

    def reads_level(self, level, num_levels):
        """Whether the term reads the student's ``level`` (0..num_levels - 1)."""
        return level in self._read_levels(num_levels)

    def adapter_at(self, key, level, num_levels):
        """The adapter the student's ``key`` features of ``level`` go through, or None."""
        if key not in self.adapters or not self.reads_level(level, num_levels):
            return None
        return self.adapters[key][self._read_levels(num_levels).index(level)]

    def teacher_level_of(self, level, num_levels, num_teacher_levels):
        """The teacher level the term pairs with its student ``level`` (one it reads)."""
        levels = self._read_levels(num_levels)
        pairs = self.teacher_level_indices(num_levels, num_teacher_levels)
        return pairs[levels.index(level)] % num_teacher_levels

    def forward(self, knowledge):
        """``weight *`` the loss on the tensors the term names (``knowledge``: {vocabulary name:
        value}), in float32 with autocast off.

        Per-level inputs are indexed by the term's levels (student features through the term's
        adapter) and the loss is called once per level, the results summed; a loss with
        ``levels_at_once = True`` is called once with lists of the levels instead. Other inputs
        are passed whole.
        """
        with full_precision(knowledge['img'].device.type):
            return self.kd_weight * self._value(knowledge)

    def _value(self, knowledge):
        def read(key, lv=None, tl=None):
            if key is None:  # the loss's default for that argument
                return None
            if lv is None or key not in self.per_level:
                value = as_fp32(knowledge[key])
                if key in self.resized:
                    value = resize_to(value, knowledge['s_' + key[2:]])
                return value
            return as_fp32(knowledge[key][tl if key.startswith('t_') else lv])

        if not self.per_level:
            return self.loss(*[read(k) for k in self.inputs])
        student_side = [k for k in self.per_level if not k.startswith('t_')] or self.per_level
        num_levels = len(knowledge[student_side[0]])
        levels = self.level_indices(num_levels)
        teacher_side = [k for k in self.per_level if k.startswith('t_')]
        t_levels = self.teacher_level_indices(num_levels, len(knowledge[teacher_side[0]])) \
            if teacher_side else levels
        calls = []
        for i, (lv, tl) in enumerate(zip(levels, t_levels)):
            args = []
            for key in self.inputs:
                value = read(key, lv, tl)
                if key is not None and key.startswith('s_') and key[2:] in self.adapters:
                    size = knowledge['t_' + key[2:]][tl].shape[-2:]
                    value = self.adapters[key[2:]][i](value, size)
                args.append(value)
            calls.append(args)
        if getattr(self.loss_module, 'levels_at_once', False):
            return self.loss(*[[call[j] for call in calls] if key in self.per_level
                               else calls[0][j] for j, key in enumerate(self.inputs)])
        losses = self.loss if isinstance(self.loss, nn.ModuleList) else [self.loss] * len(calls)
        total = 0.
        for fn, args in zip(losses, calls):
            total = total + fn(*args)
        return total


def map_old_term_keys(state_dict, prefix, terms):
    """Renames, in place, the keys a checkpoint written before the terms were modules has:
    ``kd_losses.<name>.*`` to ``kd_terms.<name>.loss.*`` and ``adapters.<name>_<feature>.*`` to
    ``kd_terms.<name>.adapters.<feature>.*`` (``terms``: {name: :class:`KDTerm`}; the longest
    term name that matches wins, so names with underscores map right)."""
    names = sorted(terms, key=len, reverse=True)
    for key in [k for k in state_dict if k.startswith(prefix + 'kd_losses.')
                or k.startswith(prefix + 'adapters.')]:
        rest = key[len(prefix):]
        group, _, tail = rest.partition('.')
        new = None
        for name in names:
            if group == 'kd_losses' and tail.startswith(name + '.'):
                new = f'kd_terms.{name}.loss.{tail[len(name) + 1:]}'
            elif group == 'adapters' and tail.startswith(name + '_'):
                feature, _, inner = tail[len(name) + 1:].partition('.')
                if feature in terms[name].pairs:
                    new = f'kd_terms.{name}.adapters.{feature}.{inner}'
            if new is not None:
                break
        if new is not None:
            state_dict[prefix + new] = state_dict.pop(key)


def old_parameter_order(model, checkpoint_keys):
    """The names of ``model``'s parameters in the order a model of a checkpoint written before
    the terms were modules had them (``checkpoint_keys``: that checkpoint's state-dict keys, in
    its order), or None when the checkpoint has no old key. The old KD parameters
    (``kd_losses.*``, then ``adapters.*``) sat where ``kd_terms`` sits now, after the student
    and the teacher; the checkpoint's order gives theirs. Parameters the checkpoint lacks (a
    teacher not saved) keep their place."""
    keys = list(checkpoint_keys)
    if not any(k.startswith(('kd_losses.', 'adapters.')) for k in keys):
        return None
    names = [name for name, _ in model.named_parameters()]
    known = set(names)
    mapped = []
    for key in keys:
        one = {key: None}
        map_old_term_keys(one, '', model.kd_terms)
        (new,) = one
        if new in known:
            mapped.append(new)
    present = set(mapped)
    order = iter(mapped)
    return [next(order) if name in present else name for name in names]


def reorder_old_optimizer_state(optimizer_state, optimizer, model, checkpoint_keys):
    """Rewrites, in place, the ``torch.optim`` state dict ``optimizer_state`` saved with a model
    of the old parameter order (:func:`old_parameter_order`) so that ``optimizer`` (built on
    ``model`` as it is now, its parameters in model order) loads each parameter's own state
    (momentum, Adam moments) and its own group. Returns whether anything was rewritten."""
    old = old_parameter_order(model, checkpoint_keys)
    if old is None:
        return False
    name_of = {id(p): n for n, p in model.named_parameters()}
    rank = {name: i for i, name in enumerate(old)}
    current = [(gi, name_of[id(p)]) for gi, group in enumerate(optimizer.param_groups)
               for p in group['params']]
    saved_groups = optimizer_state['param_groups']
    if sum(len(g['params']) for g in saved_groups) != len(current):
        raise ValueError(
            f'the checkpoint\'s optimizer has {sum(len(g["params"]) for g in saved_groups)} '
            f'parameters, the model\'s {len(current)}: it was written for another model; '
            'start from its weights with load_from instead of resume.')
    # the saved index of a parameter: its place among this optimizer's parameters, old order
    by_old = sorted(range(len(current)), key=lambda j: rank[current[j][1]])
    saved_index = {j: i for i, j in enumerate(by_old)}
    group_of_saved = {i: g for g in saved_groups for i in g['params']}
    state = optimizer_state['state']
    optimizer_state['state'] = {j: state[saved_index[j]] for j in range(len(current))
                                if saved_index[j] in state}
    groups, start = [], 0
    for gi, group in enumerate(optimizer.param_groups):
        indices = list(range(start, start + len(group['params'])))
        start += len(indices)
        saved = group_of_saved[saved_index[indices[0]]] if indices else saved_groups[gi]
        groups.append(dict(saved, params=indices))
    optimizer_state['param_groups'] = groups
    return True
