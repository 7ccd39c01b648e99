import pytest

from tests.helpers import DISTILL_CFG, data_options
from tools.analysis import benchmark


def test_benchmark_reports_medians_and_ratio(demo_data, capsys):
    root = data_options(demo_data)['train_dataloader.dataset.data_root']
    med = benchmark.main([DISTILL_CFG, '--iters', '2', '--warmup', '1', '--random-teacher',
                          '--only', 'hint',
                          '--cfg-options', f'train_dataloader.dataset.data_root={root}'])
    assert all(med[k] > 0 for k in ('student step', 'teacher forward', 'distill step'))
    assert med['ratio'] == med['distill step'] / (med['student step'] + med['teacher forward'])
    assert med['terms_share'] == pytest.approx(1 - 1 / med['ratio'], abs=1e-12)
    out = capsys.readouterr().out
    assert "terms ['hint']" in out and 'peak RSS' in out
    # progress: the first (warm-up) and the last of the 3 iterations, with an ETA
    assert '[benchmark] iterations 1/3 (warm-up), elapsed' in out
    assert '[benchmark] iterations 3/3, elapsed' in out
    # the first batch's losses, task and KD, are printed to compare their sizes
    first = next(line for line in out.splitlines() if 'losses on the first batch' in line)
    assert 'loss_cls' in first and 'loss_kd_hint' in first


def test_benchmark_compares_two_processes_with_one(demo_data, capsys):
    root = data_options(demo_data)['train_dataloader.dataset.data_root']
    med = benchmark.main([DISTILL_CFG, '--iters', '2', '--warmup', '1', '--random-teacher',
                          '--procs', '2', '--batch-size', '4', '--no-progress',
                          '--cfg-options', f'train_dataloader.dataset.data_root={root}'])
    assert med['one'] > 0 and med['many'] > 0
    assert med['ratio'] == med['many'] / med['one']
    out = capsys.readouterr().out
    assert '1 process, 2 threads, batch 4' in out
    assert '2 processes x 1 threads, batch 2 each' in out
