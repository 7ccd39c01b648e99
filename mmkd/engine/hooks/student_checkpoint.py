"""Writes a plain student checkpoint beside every checkpoint a distill run saves."""
import os
import os.path as osp

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook, Hook
from mmengine.logging import print_log

from mmkd.apis import plain_config, plain_model
from mmkd.models.distillers.build import student_config
from mmkd.registry import HOOKS
from mmkd.utils.checkpoint import load_checkpoint_file
from .kd_weight_schedule import distiller_of

SUFFIX = '_student.pth'


@HOOKS.register_module()
class StudentCheckpointHook(Hook):
    """For every checkpoint ``X.pth`` the run's ``CheckpointHook`` writes (the periodic ones, the
    last, the best), writes ``X_student.pth`` beside it: the student's weights only, as a plain
    mmdet / mmseg checkpoint (``state_dict`` and ``meta.dataset_meta``); and once,
    ``student_config.py``, the student's own config. ``mmdet.apis.init_detector`` /
    ``mmseg.apis.init_model`` load the pair with no mmkd import, as after
    ``tools/export_student.py``.

    A student checkpoint whose full checkpoint was removed (``max_keep_ckpts``, a better best) is
    removed with it. Only the main process writes.

    With a ``MutualLearningDistiller`` every member gets its own: ``X_<member>.pth`` and
    ``<member>_config.py``.

    Example::

        custom_hooks = [dict(type='mmkd.StudentCheckpointHook')]
    """

    # after CheckpointHook (VERY_LOW) has saved
    priority = 'LOWEST'

    def __init__(self):
        self.out_dir = None
        #: {file suffix: mutual-learning member or None for the student}
        self.suffixes = {SUFFIX: None}

    def before_train(self, runner):
        distiller = distiller_of(runner, 'StudentCheckpointHook')
        hooks = [h for h in runner.hooks if isinstance(h, CheckpointHook)]
        self.out_dir = getattr(hooks[0], 'out_dir', None) if hooks else None
        self.out_dir = self.out_dir or runner.work_dir
        members = getattr(distiller, 'member_names', None)
        if members:
            self.suffixes = {f'_{m}.pth': m for m in members}
        if not is_main_process():
            return
        for member in self.suffixes.values():
            model, scope = student_config(runner.cfg, type(distiller), member)
            plain_config(runner.cfg, model, scope, member).dump(
                osp.join(self.out_dir, f'{member or "student"}_config.py'))

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.sync(runner)

    def after_train_epoch(self, runner):
        self.sync(runner)

    def after_val_epoch(self, runner, metrics=None):
        self.sync(runner)

    def sync(self, runner):
        """Exports every checkpoint newer than its student checkpoint; removes orphans."""
        if self.out_dir is None or not is_main_process() or not osp.isdir(self.out_dir):
            return
        names = set(os.listdir(self.out_dir))
        for name in names:
            path = osp.join(self.out_dir, name)
            suffix = next((x for x in self.suffixes if name.endswith(x)), None)
            if suffix is not None:
                if name[:-len(suffix)] + '.pth' not in names:
                    os.remove(path)
                continue
            if not name.endswith('.pth'):
                continue
            for suffix, member in self.suffixes.items():
                target = path[:-len('.pth')] + suffix
                if osp.isfile(target) and osp.getmtime(target) >= osp.getmtime(path):
                    continue
                self.export(runner, path, target, member)

    @staticmethod
    def export(runner, path, target, member=None):
        source = load_checkpoint_file(path, 'checkpoint')
        _, _, state = plain_model(runner.cfg, source, member=member)
        dataset_meta = source.get('meta', {}).get('dataset_meta')
        tmp = target + '.tmp'
        torch.save(dict(state_dict=state,
                        meta=dict(dataset_meta=dataset_meta) if dataset_meta else {}), tmp)
        os.replace(tmp, target)  # a kill never leaves a half-written student checkpoint
        print_log(f'mmkd: wrote the {member or "student"} of {osp.basename(path)} to {target}',
                  logger='current')
