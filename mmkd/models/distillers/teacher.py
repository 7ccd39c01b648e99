"""The frozen teacher: building and loading it, the conversion of the student's input to the
teacher's normalisation, the precision it runs in, the student modules that start from its
weights (``model.inherit``), and keeping it out of checkpoints.

:class:`~mmkd.models.distillers.base.BaseDistiller` calls these; they take and return plain
modules and tensors, so each can be read and tested on its own.
"""
from contextlib import nullcontext

import torch
from mmengine.config import ConfigDict
from mmengine.logging import MMLogger

from mmkd.utils.checkpoint import load_checkpoint_file, load_matching_state, state_dict_of
from .build import build_model, model_config

TEACHER_KEYS = ('config', 'checkpoint', 'dtype', 'channels_last')
TEACHER_DTYPES = {None: None, 'float32': None, 'bfloat16': torch.bfloat16,
                  'float16': torch.float16}


def build_teacher(teacher, default_scope, channels_last_default=False):
    """Builds ``model.teacher`` (``dict(config=..., checkpoint=..., dtype=...,
    channels_last=...)``), loads its weights and freezes it: no gradients, eval mode, its
    weights in the channels-last layout if ``channels_last`` says so, and marked initialised so
    that the runner's ``init_weights()`` keeps the weights.

    ``channels_last`` unset takes ``channels_last_default`` (the distiller's), and is always on
    with a reduced-precision ``dtype``. The teacher only runs forward, and there oneDNN's
    convolutions are often faster in that layout, but not always (2 CPU cores, 2 images,
    ``docs/benchmarks.md``): 12% faster on the RetinaNet R101 teacher's backbone and neck at
    320 x 320, 8% on the demo's R18, but 6% slower on the PSPNet R101-d8 at 256 x 256, whose
    pyramid pooling head loses more than its backbone gains. The outputs equal the default
    layout's within float rounding (about 1e-5).

    Returns:
        tuple: (the teacher, its model config, the autocast dtype or None, channels-last or not).
    """
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
    dtype = TEACHER_DTYPES[teacher.get('dtype')]
    channels_last = teacher.get('channels_last')
    if channels_last is None:
        channels_last = channels_last_default or dtype is not None
    elif not isinstance(channels_last, bool):
        raise ValueError(f'model.teacher.channels_last={channels_last!r}; use True (the '
                         'teacher runs in the channels-last layout), False or None (the '
                         "distiller's default).")
    cfg, scope = model_config(teacher['config'], 'model.teacher.config', default_scope)
    model = build_model(cfg, scope)
    checkpoint = teacher.get('checkpoint')
    if checkpoint is None:
        raise ValueError('model.teacher.checkpoint is not set: a distiller needs a trained '
                         "teacher. Train it first (tools/train.py on the teacher's config) "
                         'and name its checkpoint.')
    load_teacher_weights(model, checkpoint, teacher['config'])
    model.requires_grad_(False)
    model.eval()
    if channels_last:
        to_channels_last(model)
    model._is_init = True
    return model, cfg, dtype, channels_last


def to_channels_last(model):
    """Puts ``model``'s weights in the channels-last layout, except those of mmcv's compiled ops
    (``mmcv.ops``: deformable convolution, RoIAlign...). Their kernels read tensors as contiguous
    without checking (RoIAlign of a channels-last map silently gives other values), so those
    modules keep their weights contiguous and get contiguous inputs (a forward pre-hook).

    Returns:
        list[str]: the names of the modules left contiguous.
    """
    model.to(memory_format=torch.channels_last)
    kept = [(name, module) for name, module in model.named_modules()
            if type(module).__module__.startswith('mmcv.ops')]
    for _, module in kept:
        module.to(memory_format=torch.contiguous_format)
        module.register_forward_pre_hook(_contiguous_inputs, with_kwargs=True)
    return [name for name, _ in kept]


def _contiguous_inputs(module, args, kwargs):
    def contiguous(value):
        return value.contiguous() if isinstance(value, torch.Tensor) else value

    return (tuple(contiguous(a) for a in args),
            {key: contiguous(value) for key, value in kwargs.items()})


def load_teacher_weights(model, checkpoint, config_name):
    """Loads ``checkpoint`` (``weights_only=True``) into ``model``; raises naming the keys that
    are missing, unexpected or of another shape."""
    what = 'teacher checkpoint (model.teacher.checkpoint)'
    try:
        state = state_dict_of(load_checkpoint_file(checkpoint, what))
    except ValueError as err:
        raise ValueError(f'{what} {checkpoint!r}: {err}') from None
    source = config_name if isinstance(config_name, str) else 'the inline config'
    load_matching_state(model, state, f'{what} {checkpoint!r} does not match the teacher '
                        f'built from {source}')


def normalisation_of(preprocessor):
    """(mean, std, BGR -> RGB) of a data preprocessor's input normalisation: (0, 1) per channel
    when it does not normalise. The one reading of it for the teacher's conversion and for the
    members of mutual learning, who must agree."""
    enabled = getattr(preprocessor, '_enable_normalize', False)
    mean = preprocessor.mean.flatten().tolist() if enabled else [0.0] * 3
    std = preprocessor.std.flatten().tolist() if enabled else [1.0] * 3
    return mean, std, bool(getattr(preprocessor, '_channel_conversion', False))


class InputConversion:
    """Converts the student's preprocessed batch to what the teacher's own preprocessing would
    give: un-normalised with the student's mean / std, channels swapped if the two differ in BGR /
    RGB order, normalised with the teacher's. Padding (0 after the student's normalisation)
    becomes the student's mean colour.

    :meth:`between` returns None when the two preprocessors agree (nothing to convert).
    """

    def __init__(self, student, teacher):
        def column(values):
            return torch.tensor(values).view(1, -1, 1, 1)  # (1, C, 1, 1)

        (s_mean, s_std, s_rgb), (t_mean, t_std, t_rgb) = student, teacher
        self.s_mean, self.s_std = column(s_mean), column(s_std)
        self.t_mean, self.t_std = column(t_mean), column(t_std)
        self.flip = s_rgb != t_rgb

    @classmethod
    def between(cls, student_preprocessor, teacher_preprocessor):
        student = normalisation_of(student_preprocessor)
        teacher = normalisation_of(teacher_preprocessor)
        if student == teacher:
            return None
        (s_mean, s_std, s_rgb), (t_mean, t_std, t_rgb) = student, teacher
        MMLogger.get_current_instance().info(
            f'mmkd: the teacher normalises its input differently (mean {t_mean}, std {t_std}, '
            f"{'RGB' if t_rgb else 'BGR'}) from the student (mean {s_mean}, std {s_std}, "
            f"{'RGB' if s_rgb else 'BGR'}); the student's input is converted for it.")
        return cls(student, teacher)

    def __call__(self, inputs):
        device = inputs.device
        raw = inputs * self.s_std.to(device) + self.s_mean.to(device)
        if self.flip:
            raw = raw.flip(1)
        return (raw - self.t_mean.to(device)) / self.t_std.to(device)


def teacher_precision(dtype, channels_last, inputs):
    """The context the teacher runs in (autocast to ``dtype``, or none) and the image batch
    to give it (channels-last when the teacher is)."""
    if channels_last and inputs.dim() == 4:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    if dtype is None:
        return nullcontext(), inputs
    return torch.autocast(device_type=inputs.device.type, dtype=dtype), inputs


def check_inherit(student, teacher, inherit):
    """``model.inherit`` as a list of student module names, each checked against the teacher:
    the error names the module and the parameters that are missing or of another shape."""
    names = [inherit] if isinstance(inherit, str) else list(inherit or ())
    s_state, t_state = student.state_dict(), teacher.state_dict()
    for name in names:
        keys = [k for k in s_state if k.startswith(name + '.')]
        if not keys:
            children = [n for n, _ in student.named_children()]
            raise ValueError(f'model.inherit names {name!r}, which the student '
                             f'{type(student).__name__} does not have (its modules: '
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


@torch.no_grad()
def copy_inherited(student, teacher, names):
    """Copies the teacher's weights into the student modules ``names`` (checked by
    :func:`check_inherit`)."""
    t_state = teacher.state_dict()
    for key, value in student.state_dict().items():
        if any(key.startswith(name + '.') for name in names):
            value.copy_(t_state[key])
    MMLogger.get_current_instance().info(
        f'mmkd: the student\'s {", ".join(names)} start from the teacher\'s weights '
        '(model.inherit).')


def drop_teacher_state(module, state_dict, prefix, local_metadata):
    """State-dict hook: the teacher's weights leave the checkpoint unless ``save_teacher``."""
    if not module.save_teacher:
        for key in [k for k in state_dict if k.startswith(prefix + 'teacher.')]:
            del state_dict[key]
    return state_dict


def fill_teacher_state(teacher, state_dict, prefix):
    """Load pre-hook: a checkpoint without the teacher keeps the loaded teacher instead of
    reporting its weights as missing."""
    for key, value in teacher.state_dict(prefix=prefix + 'teacher.').items():
        state_dict.setdefault(key, value)
