"""Changes the weight of each KD term over training, stops terms, and logs the weights."""
import math

from mmengine.hooks import Hook
from mmengine.logging import print_log

from mmkd.models.distillers import is_distiller
from mmkd.registry import HOOKS
from mmkd.utils.errors import UnknownNameError, did_you_mean

SCHEDULE_KEYS = ('value', 'warmup', 'start_value', 'decay', 'decay_begin', 'decay_end',
                 'final_value', 'stop_at', 'by_epoch')
DECAYS = ('linear', 'cosine')


def kd_weight_at(step, value=1.0, warmup=0, start_value=0.0, decay='linear', decay_begin=None,
                 decay_end=None, final_value=0.0, stop_at=None):
    """The multiplier of a KD term at ``step`` (an iteration or an epoch, counted from 0).

    - linear warm-up from ``start_value`` at step 0 to ``value`` at step ``warmup``;
    - ``value`` until ``decay_begin``, then decay to ``final_value`` at ``decay_end`` (and
      ``final_value`` after it): ``'linear'``, or ``'cosine'``
      ``final + (value - final) * (1 + cos(pi * t)) / 2`` with ``t`` the fraction of the decay
      done;
    - 0 from ``stop_at`` on (and :class:`KDWeightScheduleHook` stops computing the term).
    """
    if stop_at is not None and step >= stop_at:
        return 0.0
    if warmup and step < warmup:
        return start_value + (value - start_value) * step / warmup
    if decay_begin is not None and step >= decay_begin:
        if decay_end is None or step >= decay_end:
            return final_value
        t = (step - decay_begin) / (decay_end - decay_begin)
        if decay == 'cosine':
            return final_value + (value - final_value) * (1 + math.cos(math.pi * t)) / 2
        return value + (final_value - value) * t
    return value


@HOOKS.register_module()
class KDWeightScheduleHook(Hook):
    """Sets ``model.kd_terms[term].kd_weight`` before every training iteration and logs every
    term's weight as ``kd_weight_<term>``.

    A term past its ``stop_at`` is not computed at all (``model.kd_terms[term].stopped``): its
    ``loss_kd_<term>`` key leaves the logs, it adds no gradient, and when every term has stopped
    the teacher no longer runs. Resuming recomputes all of it from the restored iteration.

    Args:
        schedules (dict): ``{term: dict(...)}`` with the arguments of :func:`kd_weight_at` and
            ``by_epoch`` (steps are epochs instead of iterations; default False). Terms not named
            keep weight 1.

    Example::

        custom_hooks = [dict(type='mmkd.KDWeightScheduleHook', schedules=dict(
            hint=dict(warmup=500),
            cls=dict(decay='cosine', decay_begin=2, decay_end=10, by_epoch=True),
            pair=dict(stop_at=8, by_epoch=True)))]
    """

    priority = 'NORMAL'

    def __init__(self, schedules):
        for term, spec in schedules.items():
            where = f'KDWeightScheduleHook: schedule of {term!r}'
            unknown = set(spec) - set(SCHEDULE_KEYS)
            if unknown:
                raise ValueError(f'{where} has unknown keys {sorted(unknown)}; it takes '
                                 f'{", ".join(SCHEDULE_KEYS)}.')
            if spec.get('decay', 'linear') not in DECAYS:
                raise ValueError(f"{where}: decay={spec['decay']!r}; use one of {DECAYS}.")
            begin, end = spec.get('decay_begin'), spec.get('decay_end')
            if end is not None and (begin is None or end <= begin):
                raise ValueError(f'{where}: decay_end={end} needs a decay_begin before it '
                                 f'(got {begin}).')
            if spec.get('decay') == 'cosine' and end is None:
                raise ValueError(f'{where}: a cosine decay needs decay_begin and decay_end.')
        self.schedules = {term: dict(spec) for term, spec in schedules.items()}

    def before_run(self, runner):
        model = self._distiller(runner)
        unknown = set(self.schedules) - set(model.kd_terms)
        if unknown:
            name = sorted(unknown)[0]
            raise UnknownNameError(
                f'KDWeightScheduleHook schedules {sorted(unknown)}, which are not KD terms of the '
                f'model.{did_you_mean(name, model.kd_terms)} Its terms are '
                f'{sorted(model.kd_terms)}.')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = self._distiller(runner)
        stopped = set()
        for term, spec in self.schedules.items():
            spec = dict(spec)
            by_epoch = spec.pop('by_epoch', False)
            step = runner.epoch if by_epoch else runner.iter
            model.kd_terms[term].kd_weight = kd_weight_at(step, **spec)
            if spec.get('stop_at') is not None and step >= spec['stop_at']:
                stopped.add(term)
        for name, term in model.kd_terms.items():
            if name in stopped and not term.stopped:
                unit = 'epoch' if self.schedules[name].get('by_epoch') else 'iteration'
                print_log(f'mmkd: KD term {name!r} stopped at {unit} '
                          f"{self.schedules[name]['stop_at']}", logger='current')
            term.stopped = name in stopped
            runner.message_hub.update_scalar(f'train/kd_weight_{name}', term.kd_weight)

    @staticmethod
    def _distiller(runner):
        return distiller_of(runner, 'KDWeightScheduleHook')


def distiller_of(runner, hook_name):
    """The mmkd distiller inside ``runner.model`` (unwrapped from DDP); a TypeError naming the
    hook otherwise."""
    model = runner.model.module if hasattr(runner.model, 'module') else runner.model
    if not is_distiller(model):
        raise TypeError(f'{hook_name} needs an mmkd distiller; the model is '
                        f'{type(model).__name__}.')
    return model
