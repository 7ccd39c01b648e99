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

    from mmkd.models.distillers import KDTermsModel
    hook = KDWeightScheduleHook(schedules=dict(hitn=dict(warmup=10)))
    class Terms(KDTermsModel):  # what every distiller is; the hook reads its terms' weights
        def forward(self, *args, **kwargs):
            raise AssertionError('not run')

    model = Terms()
    model.kd_terms = dict(hint=None, poskd=None)
    runner = SimpleNamespace(model=model)
    with pytest.raises(KeyError) as err:
        hook.before_run(runner)
    assert str(err.value) == ("KDWeightScheduleHook schedules ['hitn'], which are not KD terms "
                              "of the model. Did you mean 'hint'? Its terms are "
                              "['hint', 'poskd'].")


def test_a_model_that_is_no_distiller_is_named():
    from types import SimpleNamespace

    import torch.nn as nn
    hook = KDWeightScheduleHook(schedules=dict(hint=dict(warmup=10)))
    with pytest.raises(TypeError, match='KDWeightScheduleHook needs an mmkd distiller; the model '
                                        'is Linear'):
        hook.before_run(SimpleNamespace(model=nn.Linear(2, 2)))
