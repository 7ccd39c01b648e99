"""Changes the weight of each KD term over training and logs it."""
from mmengine.hooks import Hook

from mmkd.registry import HOOKS

SCHEDULE_KEYS = ('value', 'warmup', 'start_value', 'decay_begin', 'decay_end', 'final_value',
                 'stop_at', 'by_epoch')


def kd_weight_at(step, value=1.0, warmup=0, start_value=0.0, decay_begin=None, decay_end=None,
                 final_value=0.0, stop_at=None):
    """The multiplier of a KD term at ``step`` (an iteration or an epoch, counted from 0).

    - linear warm-up from ``start_value`` at step 0 to ``value`` at step ``warmup``;
    - ``value`` until ``decay_begin``, then linear decay to ``final_value`` at ``decay_end``
      (and ``final_value`` after it);
    - 0 from ``stop_at`` on (the term is switched off).
    """
    if stop_at is not None and step >= stop_at:
        return 0.0
    if warmup and step < warmup:
        return start_value + (value - start_value) * step / warmup
    if decay_begin is not None and step >= decay_begin:
        if decay_end is None or step >= decay_end:
            return final_value
        return value + (final_value - value) * (step - decay_begin) / (decay_end - decay_begin)
    return value


@HOOKS.register_module()
class KDWeightScheduleHook(Hook):
    """Sets ``model.kd_weights[term]`` before every training iteration and logs it as
    ``kd_weight_<term>``.

    Args:
        schedules (dict): ``{term: dict(...)}`` with the arguments of :func:`kd_weight_at` and
            ``by_epoch`` (steps are epochs instead of iterations; default False). Terms not named
            keep weight 1.

    Example::

        custom_hooks = [dict(type='mmkd.KDWeightScheduleHook', schedules=dict(
            hint=dict(warmup=500), cls=dict(stop_at=8, by_epoch=True)))]
    """

    priority = 'NORMAL'

    def __init__(self, schedules):
        for term, spec in schedules.items():
            unknown = set(spec) - set(SCHEDULE_KEYS)
            if unknown:
                raise ValueError(f'KDWeightScheduleHook: schedule of {term!r} has unknown keys '
                                 f'{sorted(unknown)}; it takes {", ".join(SCHEDULE_KEYS)}.')
        self.schedules = {term: dict(spec) for term, spec in schedules.items()}

    def before_run(self, runner):
        model = self._distiller(runner)
        unknown = set(self.schedules) - set(model.kd_weights)
        if unknown:
            raise KeyError(f'KDWeightScheduleHook schedules {sorted(unknown)}, which are not '
                           f'KD terms of the model; its terms are {sorted(model.kd_weights)}.')

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        model = self._distiller(runner)
        for term, spec in self.schedules.items():
            spec = dict(spec)
            step = runner.epoch if spec.pop('by_epoch', False) else runner.iter
            model.kd_weights[term] = kd_weight_at(step, **spec)
        for term, weight in model.kd_weights.items():
            runner.message_hub.update_scalar(f'train/kd_weight_{term}', weight)

    @staticmethod
    def _distiller(runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        if not hasattr(model, 'kd_weights'):
            raise TypeError(f'KDWeightScheduleHook needs an mmkd distiller; the model is '
                            f'{type(model).__name__}.')
        return model
