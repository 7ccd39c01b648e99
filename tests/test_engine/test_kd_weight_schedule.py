import pytest

from mmkd.engine.hooks import KDWeightScheduleHook, kd_weight_at


@pytest.mark.parametrize('step, kwargs, expected', [
    (0, {}, 1.0),
    (5, dict(warmup=10), 0.5),                         # 0 + (1 - 0) * 5 / 10
    (5, dict(warmup=10, start_value=0.2), 0.6),        # 0.2 + 0.8 * 0.5
    (10, dict(warmup=10), 1.0),
    (15, dict(decay_begin=10, decay_end=20), 0.5),     # 1 + (0 - 1) * 5 / 10
    (18, dict(value=2.0, decay_begin=10, decay_end=20, final_value=1.0), 1.2),
    (25, dict(decay_begin=10, decay_end=20, final_value=0.1), 0.1),
    (7, dict(stop_at=7), 0.0),
    (6, dict(stop_at=7, value=3.0), 3.0),
])
def test_kd_weight_at(step, kwargs, expected):
    assert kd_weight_at(step, **kwargs) == pytest.approx(expected)


def test_unknown_schedule_key_is_named():
    with pytest.raises(ValueError, match="'warmpu'"):
        KDWeightScheduleHook(schedules=dict(hint=dict(warmpu=10)))


def test_schedule_of_a_misspelt_term_says_which_was_meant():
    """A schedule for a term the model does not have names it, the closest term and the terms,
    in a message printed as written (not KeyError's quoted repr)."""
    from types import SimpleNamespace
    hook = KDWeightScheduleHook(schedules=dict(hitn=dict(warmup=10)))
    runner = SimpleNamespace(model=SimpleNamespace(kd_weights=dict(hint=1.0, poskd=0.5)))
    with pytest.raises(KeyError) as err:
        hook.before_run(runner)
    assert str(err.value) == ("KDWeightScheduleHook schedules ['hitn'], which are not KD terms "
                              "of the model. Did you mean 'hint'? Its terms are "
                              "['hint', 'poskd'].")
