"""One optimizer per part of a distiller (the student, the discriminator of adversarial KD), as an
``OptimWrapperDict``. MMEngine 0.10 has no such constructor of its own (mmagic's GAN models ship
theirs); this one also knows which distiller parameters belong to the student's side."""
import copy

import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from mmkd.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmkd.utils.errors import UnknownNameError, did_you_mean


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Builds ``{name: OptimWrapper}`` for the distiller's children named in the config.

    Each key is a child module of the distiller (``student``, ``discriminator``) and its value an
    ordinary optim-wrapper config (``type``, ``optimizer``, ``clip_grad``, ``paramwise_cfg`` ...).
    Trainable children that no key names (adapters, KD losses with parameters) join ``student``'s
    optimizer, since the student's loss trains them; the frozen teacher joins none.

    Example::

        optim_wrapper = dict(
            constructor='mmkd.MultiOptimWrapperConstructor',
            student=dict(type='OptimWrapper',
                         optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4)),
            discriminator=dict(type='OptimWrapper',
                               optimizer=dict(type='Adam', lr=4e-4, betas=(0.9, 0.99))))
    """

    def __init__(self, optim_wrapper_cfg, paramwise_cfg=None):
        if not optim_wrapper_cfg or any(not isinstance(v, dict)
                                        for v in optim_wrapper_cfg.values()):
            raise TypeError('MultiOptimWrapperConstructor: optim_wrapper must map child modules '
                            '(student=dict(...), discriminator=dict(...)) to optim-wrapper '
                            f'configs; got keys {sorted(optim_wrapper_cfg or {})}.')
        if paramwise_cfg is not None:
            raise ValueError('MultiOptimWrapperConstructor: give paramwise_cfg inside each '
                             'wrapper (student=dict(..., paramwise_cfg=...)).')
        self.optim_wrapper_cfg = copy.deepcopy(dict(optim_wrapper_cfg))

    def __call__(self, model):
        model = getattr(model, 'module', model)  # through DDP wrappers
        children = dict(model.named_children())
        unknown = sorted(set(self.optim_wrapper_cfg) - set(children))
        if unknown:
            raise UnknownNameError(
                f'optim_wrapper names {unknown}, which {type(model).__name__} does not have.'
                f'{did_you_mean(unknown[0], children)} Its parts are {sorted(children)}.')
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            cfg = dict(cfg)
            paramwise = cfg.pop('paramwise_cfg', None)
            module = children[name]
            if name == 'student':
                module = self._student_side(model, children)
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, paramwise)(module)
        return OptimWrapperDict(**wrappers)

    def _student_side(self, model, children):
        extra = [name for name, child in children.items()
                 if name not in self.optim_wrapper_cfg and name != 'teacher'
                 and any(p.requires_grad for p in child.parameters())]
        if not extra:
            return children['student']
        MMLogger.get_current_instance().info(
            f"mmkd: the student's optimizer also trains {extra} of {type(model).__name__}")
        holder = nn.Module()
        for name in ['student', *extra]:
            holder.add_module(name, children[name])
        return holder
