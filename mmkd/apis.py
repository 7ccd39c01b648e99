"""Turning a distill config and checkpoint into a plain mmdet / mmseg model: evaluation of the
student or the teacher, and export of the student."""
import copy
import os
import os.path as osp

import torch
from mmengine.config import Config, ConfigDict

from mmkd.models.distillers.base import KDTermsModel
from mmkd.models.distillers.build import model_config, student_config, task_scope
from mmkd.registry import MODELS
from mmkd.utils.checkpoint import load_checkpoint_file, state_dict_of, student_state_dict


def distiller_class(cfg):
    """The mmkd distiller class ``cfg.model`` builds, or None for a plain model config."""
    model_type = cfg.model.get('type', '') if isinstance(cfg.model, dict) else ''
    cls = MODELS.module_dict.get(model_type.split('.')[-1]) if isinstance(model_type, str) \
        else model_type
    return cls if isinstance(cls, type) and issubclass(cls, KDTermsModel) else None


def resolve_checkpoint(cfg, checkpoint, teacher):
    """``checkpoint``, or for the teacher of a distill config its ``model.teacher.checkpoint``."""
    if checkpoint is None and teacher and distiller_class(cfg) is not None and \
            'teacher' in cfg.model:
        return cfg.model.teacher.get('checkpoint')
    return checkpoint


def plain_model(cfg, checkpoint=None, teacher=False, member=None):
    """The model a distill config evaluates or exports, as a plain model config and its weights.

    Args:
        cfg (Config): a distill config, or a plain mmdet / mmseg config.
        checkpoint (str | dict | None): a distiller checkpoint (the student's weights are
            taken), a teacher checkpoint with ``teacher=True`` (default:
            ``model.teacher.checkpoint``), or a plain checkpoint for a plain config; a path, or
            what :func:`load_checkpoint_file` read from one.
        teacher (bool): the teacher instead of the student.
        member (str, optional): for a mutual-learning config (``model.students``), the member;
            defaults to the first.

    Returns:
        tuple[ConfigDict, str, dict]: model config, its default scope, its state dict.
    """
    distiller = distiller_class(cfg)
    if member is not None and (distiller is None or 'students' not in cfg.model):
        raise ValueError(f'--member {member}: only a mutual-learning config '
                         '(model.type=mmkd.MutualLearningDistiller) has members.')
    if distiller is not None and 'students' in cfg.model:
        return _member_model(cfg, checkpoint, teacher, member)
    if distiller is None:
        if teacher:
            raise ValueError('--teacher needs a distill config (model.type an mmkd distiller); '
                             f'this config builds {cfg.model.get("type")!r}.')
        if checkpoint is None:
            raise ValueError('a checkpoint is needed to evaluate a plain model')
        state = state_dict_of(_loaded(checkpoint, 'checkpoint'))
        return cfg.model, task_scope(cfg.get('default_scope')), state
    if teacher:
        model, scope = model_config(cfg.model.teacher['config'], 'model.teacher.config',
                                    distiller.DEFAULT_SCOPE)
        checkpoint = resolve_checkpoint(cfg, checkpoint, teacher)
        state = state_dict_of(_loaded(checkpoint, 'teacher checkpoint'))
        return model, scope, state
    model, scope = student_config(cfg, distiller)
    if checkpoint is None:
        raise ValueError('a distiller checkpoint is needed to evaluate or export the student')
    state = student_state_dict(state_dict_of(_loaded(checkpoint, 'checkpoint')))
    return model, scope, state


def _member_model(cfg, checkpoint, teacher, member):
    members = list(cfg.model.students)
    if teacher:
        raise ValueError('a mutual-learning config has no teacher; choose a member with '
                         f'--member ({", ".join(members)}).')
    member = member or members[0]
    if member not in members:
        raise ValueError(f'--member {member}: the config\'s members are {members}.')
    model, scope = student_config(cfg, distiller_class(cfg), member)
    if checkpoint is None:
        raise ValueError('a mutual-learning checkpoint is needed to evaluate or export a member')
    state = student_state_dict(state_dict_of(_loaded(checkpoint, 'checkpoint')),
                               prefix=f'{member}.')
    return model, scope, state


def _loaded(checkpoint, what):
    return checkpoint if isinstance(checkpoint, dict) else load_checkpoint_file(checkpoint, what)


def plain_config(cfg, model, scope, member=None):
    """``cfg`` with ``model`` in place of the distiller and nothing that needs mmkd; ``member``:
    the mutual-learning member ``model`` is (its optimizer and schedule are kept)."""
    out = Config(copy.deepcopy(cfg.to_dict()))
    out.model = ConfigDict(model)
    out.default_scope = scope
    imports = out.get('custom_imports', {}).get('imports', [])
    imports = [m for m in ([imports] if isinstance(imports, str) else imports)
               if m.split('.')[0] != 'mmkd']
    if imports:
        out.custom_imports = dict(imports=imports, allow_failed_imports=False)
    elif 'custom_imports' in out:
        out._cfg_dict.pop('custom_imports')
    # mmkd's runtime (configs/_base_/demo_runtime.py): MMEngine's own in the plain config
    checkpoint = out.get('default_hooks', {}).get('checkpoint')
    if checkpoint is not None and _is_mmkd_type(checkpoint.get('type')):
        checkpoint.type = 'CheckpointHook'
    if _is_mmkd_type(out.get('model_wrapper_cfg', {}).get('type')):
        out._cfg_dict.pop('model_wrapper_cfg')
    hooks = [h for h in out.get('custom_hooks', []) if not _is_mmkd_type(h.get('type'))]
    out.custom_hooks = hooks
    optim_wrapper = out.get('optim_wrapper', {})
    if _is_mmkd_type(optim_wrapper.get('constructor')):
        # one optimizer per distiller part (adversarial KD, mutual learning): the plain model
        # keeps its own
        part = member or 'student'
        if part not in optim_wrapper:
            part = next(k for k in optim_wrapper if k != 'constructor')
        out.optim_wrapper = optim_wrapper[part]
        schedulers = out.get('param_scheduler')
        if isinstance(schedulers, dict) and part in schedulers:
            out.param_scheduler = schedulers[part]
    for loop in ('val_cfg', 'test_cfg'):
        if _is_mmkd_type((out.get(loop) or {}).get('type')):  # mmkd.MutualValLoop ...
            out[loop] = dict(type=loop[:-4].capitalize() + 'Loop')
    out.load_from = None
    out.resume = False
    return out


def _is_mmkd_type(type_name):
    if not isinstance(type_name, str):
        return getattr(type_name, '__module__', '').startswith('mmkd')
    return type_name.startswith('mmkd.')


def export_student(cfg, checkpoint, out_dir, teacher=False, member=None):
    """Writes ``out_dir/{student|teacher|<member>}.pth`` (a plain checkpoint: ``state_dict`` and
    ``meta``) and ``out_dir/{student|teacher|<member>}_config.py``, which mmdet / mmseg load with
    no mmkd import. ``member``: a mutual-learning config's member (default: the first).

    Returns:
        tuple[str, str]: the config and checkpoint paths written.
    """
    if isinstance(cfg, str):
        cfg = Config.fromfile(cfg)
    name = 'teacher' if teacher else member or 'student'
    source = load_checkpoint_file(resolve_checkpoint(cfg, checkpoint, teacher),
                                  f'{name} checkpoint')
    model, scope, state = plain_model(cfg, source, teacher, member)
    dataset_meta = source.get('meta', {}).get('dataset_meta')
    meta = dict(dataset_meta=dataset_meta) if dataset_meta else {}
    os.makedirs(out_dir, exist_ok=True)
    ckpt_path = osp.join(out_dir, f'{name}.pth')
    torch.save(dict(state_dict=state, meta=meta), ckpt_path)
    cfg_path = osp.join(out_dir, f'{name}_config.py')
    plain_config(cfg, model, scope, None if teacher else member).dump(cfg_path)
    return cfg_path, ckpt_path
