"""Evaluates the teacher once and logs its metrics beside the student's at every validation."""
import hashlib
import json
import os.path as osp

import torch
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmkd.registry import HOOKS
from .kd_weight_schedule import distiller_of


def file_digest(path):
    """sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


@HOOKS.register_module()
class TeacherMetricsHook(Hook):
    """Evaluates the frozen teacher once, before training, on the validation set with the run's
    own evaluator (mmdet's ``CocoMetric``, mmseg's ``IoUMetric`` ...), and adds its metrics as
    ``teacher/<metric>`` to every validation's metrics, so that they are logged beside the
    student's. The teacher does not change, so it is never evaluated again.

    The result is cached in ``cache_file`` (default ``<work_dir>/teacher_metrics.json``) with the
    teacher checkpoint's sha256 and the validation data and evaluator config; a later run (a
    resume, another student with the same teacher and ``cache_file``) that matches all three reads
    it instead of evaluating.

    The student's metrics come first in the metrics dict and the teacher's are prefixed, so
    ``CheckpointHook(save_best='auto')`` or ``save_best='coco/bbox_mAP'`` keeps keying on the
    student.

    Args:
        cache_file (str, optional): where to keep the teacher's metrics.

    Example::

        custom_hooks = [dict(type='mmkd.TeacherMetricsHook')]
    """

    # before RuntimeInfoHook (VERY_HIGH) puts the metrics into the logs
    priority = 'HIGHEST'

    def __init__(self, cache_file=None):
        self.cache_file = cache_file
        self.metrics = None
        #: how many times this hook ran the teacher over the validation set
        self.evaluations = 0

    def before_train(self, runner):
        model = distiller_of(runner, 'TeacherMetricsHook')
        loop = runner.val_loop
        if loop is None:
            print_log('mmkd: TeacherMetricsHook has nothing to do: the config has no val_cfg / '
                      'val_dataloader / val_evaluator.', logger='current', level=30)
            return
        checkpoint = runner.cfg.model.teacher.get('checkpoint')
        key = dict(checkpoint_sha256=file_digest(checkpoint),
                   val=json.dumps(dict(data=runner.cfg.get('val_dataloader'),
                                       evaluator=runner.cfg.get('val_evaluator')),
                                  sort_keys=True, default=str))
        path = self.cache_file or osp.join(runner.work_dir, 'teacher_metrics.json')
        cached = self._read(path)
        if cached is not None and cached.get('key') == key:
            self.metrics = cached['metrics']
            print_log(f'mmkd: teacher metrics read from {path}', logger='current')
        else:
            self.metrics = self.evaluate(model.teacher, loop)
            if is_main_process():
                with open(path, 'w') as f:
                    json.dump(dict(key=key, checkpoint=checkpoint, metrics=self.metrics), f,
                              indent=1)
        shown = ', '.join(f'{k}: {v:.4f}' for k, v in self.metrics.items())
        print_log(f'mmkd: teacher {shown}', logger='current')

    @torch.no_grad()
    def evaluate(self, teacher, loop):
        """The teacher's metrics on ``loop``'s dataloader with its evaluator."""
        self.evaluations += 1
        for data_batch in loop.dataloader:
            outputs = teacher.val_step(data_batch)
            loop.evaluator.process(data_samples=outputs, data_batch=data_batch)
        metrics = loop.evaluator.evaluate(len(loop.dataloader.dataset))
        return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}

    @staticmethod
    def _read(path):
        if not osp.isfile(path):
            return None
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def after_val_epoch(self, runner, metrics=None):
        if self.metrics is not None and metrics is not None:
            metrics.update({f'teacher/{k}': v for k, v in self.metrics.items()})
