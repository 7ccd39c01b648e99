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
