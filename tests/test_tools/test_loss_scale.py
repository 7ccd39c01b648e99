import pytest

from tests.helpers import data_options
from tools.analysis import loss_scale

DEFEAT = 'configs/defeat/defeat-p3p4_retinanet-r18-narrow_retinanet-r18_48e_mmkd-demo-student.py'


def run(demo_data, *options):
    root = data_options(demo_data)['train_dataloader.dataset.data_root']
    return loss_scale.main([DEFEAT, '--batch-size', '2', '--cfg-options',
                            f'train_dataloader.dataset.data_root={root}',
                            'model.teacher.checkpoint=no/such/teacher.pth', *options])


def test_loss_scale_is_linear_in_the_term_weight(demo_data, capsys):
    """The same seed gives the same batch, student and random teacher: the task row repeats
    exactly, and doubling the term's loss_weight doubles its value and its gradient norm."""
    one = run(demo_data)
    two = run(demo_data, 'model.kd_terms.defeat.loss.loss_weight=1.024')
    assert two['task'] == one['task']
    assert two['defeat']['loss'] == pytest.approx(2 * one['defeat']['loss'], rel=1e-6)
    assert two['defeat']['grad_norm'] == pytest.approx(2 * one['defeat']['grad_norm'], rel=1e-6)
    out = capsys.readouterr().out
    assert 'a RANDOM teacher' in out and 'batch (2, 3, 160, 160)' in out
    ratio = one['defeat']['grad_norm'] / one['task']['grad_norm']
    assert f'{ratio:.4g}' in out


def test_a_model_config_is_refused(capsys):
    with pytest.raises(SystemExit):
        loss_scale.main(['configs/demo/retinanet_r18-narrow_fpn_12e_mmkd-demo.py'])
    assert 'is not a distill config' in capsys.readouterr().err
