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

TEACHER_KEYS = ('config', 'checkpoint', 'dtype')
TEACHER_DTYPES = {None: None, 'float32': None, 'bfloat16': torch.bfloat16,
                  'float16': torch.float16}


def build_teacher(teacher, default_scope):
    """Builds ``model.teacher`` (``dict(config=..., checkpoint=..., dtype=...)``), loads its
    weights and freezes it: no gradients, eval mode, channels-last with a reduced-precision
    ``dtype``, and marked initialised so that the runner's ``init_weights()`` keeps the weights.

    Returns:
        tuple: (the teacher, its model config, the autocast dtype or None).
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
    if dtype is not None:
        model.to(memory_format=torch.channels_last)
    model._is_init = True
    return model, cfg, dtype


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


def teacher_precision(dtype, inputs):
    """The context the teacher runs in (autocast to ``dtype``, or none) and the image batch
    to give it (channels-last with a reduced-precision teacher)."""
    if dtype is None:
        return nullcontext(), inputs
    if inputs.dim() == 4:
        inputs = inputs.contiguous(memory_format=torch.channels_last)
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
