"""Reading and building the models a distiller wraps: a model dict or a config file (a path, or
a packaged ``mmdet::`` / ``mmseg::`` config), built with the registry of its own scope."""
import copy
import os.path as osp
from importlib import import_module

from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

from mmkd.registry import MODELS


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


def task_scope(scope=None):
    """The registry scope, mmdet or mmseg, that a model config naming no scope of its own is
    built in: ``scope`` (a config's ``default_scope``; by default the current default scope,
    the runner's) when it is one of the two, else mmdet."""
    if scope is None:
        current = DefaultScope.get_current_instance()
        scope = current.scope_name if current is not None else None
    return scope if scope in ('mmdet', 'mmseg') else 'mmdet'


def student_config(cfg, distiller, member=None):
    """The model config of the student of a distill config ``cfg`` (a full config, whose model
    ``distiller``, a distiller class, builds), or of its mutual-learning ``member``, with the
    scope it is built in; the one reading of it for the tools, the hooks and the distillers.

    Returns:
        tuple[ConfigDict, str]: as :func:`model_config`.
    """
    if member is None:
        return model_config(cfg.model.student, 'model.student', distiller.DEFAULT_SCOPE)
    return model_config(cfg.model.students[member], f'model.students.{member}',
                        task_scope(cfg.get('default_scope')))


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
        if scope == 'mmkd':
            return MODELS.build(cfg)
        return import_module(f'{scope}.registry').MODELS.build(cfg)
