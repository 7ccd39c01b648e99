"""Reports how large each KD term is against the task loss, from the user's own run."""
import json
import os.path as osp

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmkd.registry import HOOKS
from .kd_weight_schedule import distiller_of


@HOOKS.register_module()
class KDLossScaleHook(Hook):
    """During the first ``iters`` training iterations, measures each KD term's value and the L2
    norm of its gradient on the student's parameters, relative to the task loss's (the sum of the
    student's own losses), then logs a table of the means and warns about every term whose
    gradient ratio is above ``high`` or below ``low``, naming the config key to change and a
    weight that would bring the ratio to 1.

    Ratios are of the term at KD weight 1 (its value divided by the weight a
    ``KDWeightScheduleHook`` gives it); iterations where that weight is 0 are left out. Each
    measured iteration costs one extra backward pass per term; afterwards the hook does nothing.
    The report is also written to ``<log_dir>/kd_loss_scale.json``.

    Args:
        iters (int): iterations to measure. Defaults to 10.
        high (float): warn above this gradient ratio. Defaults to 10.
        low (float): warn below this gradient ratio. Defaults to 0.01.

    Example::

        custom_hooks = [dict(type='mmkd.KDLossScaleHook', iters=20)]
    """

    priority = 'NORMAL'

    def __init__(self, iters=10, high=10.0, low=0.01):
        if not (isinstance(iters, int) and iters > 0):
            raise ValueError(f'KDLossScaleHook: iters={iters!r}; give a positive integer.')
        if not 0 < low < high:
            raise ValueError(f'KDLossScaleHook: need 0 < low < high, got low={low}, '
                             f'high={high}.')
        self.iters, self.high, self.low = iters, high, low
        self.samples = {}
        self.report = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter < self.iters:
            distiller_of(runner, 'KDLossScaleHook').loss_scale_probe = True

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter >= self.iters:
            return
        model = distiller_of(runner, 'KDLossScaleHook')
        measured, model.loss_scale_report = model.loss_scale_report, None
        if measured is None:
            return
        task = measured.pop('task')
        for term, m in measured.items():
            weight = model.kd_terms[term].kd_weight if term in model.kd_terms else 1.0
            if weight == 0 or task['grad_norm'] == 0 or task['loss'] == 0:
                continue
            self.samples.setdefault(term, []).append(dict(
                loss_ratio=m['loss'] / weight / task['loss'],
                grad_ratio=m['grad_norm'] / abs(weight) / task['grad_norm'],
                loss=m['loss'], grad_norm=m['grad_norm']))
        if runner.iter == self.iters - 1:
            self.finish(runner, model)

    def after_train(self, runner):
        if self.report is None and self.samples:  # a run shorter than ``iters``
            self.finish(runner, distiller_of(runner, 'KDLossScaleHook'))

    def finish(self, runner, model):
        """Logs the table and the warnings; keeps the report in ``self.report``."""
        self.report = {}
        lines = [f'mmkd: KD loss scale over the first {self.iters} iterations (mean; ratios to '
                 'the task loss, at KD weight 1)',
                 f'  {"term":<16}{"loss":>12}{"loss ratio":>12}{"grad norm":>12}'
                 f'{"grad ratio":>12}']
        for term, samples in self.samples.items():
            mean = {k: sum(s[k] for s in samples) / len(samples) for k in samples[0]}
            self.report[term] = mean
            lines.append(f'  {term:<16}{mean["loss"]:>12.4g}{mean["loss_ratio"]:>12.4g}'
                         f'{mean["grad_norm"]:>12.4g}{mean["grad_ratio"]:>12.4g}')
        print_log('\n'.join(lines), logger='current')
        for term, mean in self.report.items():
            ratio = mean['grad_ratio']
            if self.low <= ratio <= self.high:
                continue
            side = 'more than' if ratio > self.high else 'less than'
            bound = self.high if ratio > self.high else self.low
            weight = model.kd_terms[term].loss_cfg.get('loss_weight')
            if weight is not None:
                advice = (f'set model.kd_terms.{term}.loss.loss_weight (now {weight:g}) to about '
                          f'{weight / ratio:.3g} for a ratio of 1')
            else:
                advice = (f'scale model.kd_terms.{term}.loss by about {1 / ratio:.3g} (or its '
                          'KDWeightScheduleHook value) for a ratio of 1')
            print_log(f'mmkd: KD term {term!r}: its gradient on the student is {ratio:.3g}x the '
                      f"task loss's, {side} {bound:g}x; {advice}.", logger='current',
                      level=30)
        path = osp.join(runner.log_dir, 'kd_loss_scale.json')
        with open(path, 'w') as f:
            json.dump(self.report, f, indent=1)
