from tests.conftest import DISTILL_CFG, data_options
from tools.analysis import benchmark


def test_benchmark_reports_medians_and_ratio(demo_data, capsys):
    root = data_options(demo_data)['train_dataloader.dataset.data_root']
    med = benchmark.main([DISTILL_CFG, '--iters', '2', '--warmup', '1', '--random-teacher',
                          '--only', 'hint',
                          '--cfg-options', f'train_dataloader.dataset.data_root={root}'])
    assert all(med[k] > 0 for k in ('student step', 'teacher forward', 'distill step'))
    assert med['ratio'] == med['distill step'] / (med['student step'] + med['teacher forward'])
    out = capsys.readouterr().out
    assert "terms ['hint']" in out and 'peak RSS' in out
