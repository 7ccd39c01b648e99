"""tools/analysis/plot_logs.py on the logs of a real distill run (resumed once) and on logs
written by hand for the merge rule."""
import glob
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from tests.helpers import DISTILL_CFG, data_options, write_config
from tools import train as train_tool
from tools.analysis import plot_logs


@pytest.fixture(scope='module')
def resumed_run(demo_data, teacher_ckpt, tmp_path_factory):
    """The demo distill config on the tiny data, with mmkd's TeacherMetricsHook: one epoch (4
    iterations of 4 images, logged every iteration, validated), then resumed for a second
    epoch: two timestamped runs.

    Each run names its own visualizer: in one process, runs of configs that share a visualizer
    name all log into the first one's dir, where separate processes would not."""
    work_dir = str(tmp_path_factory.mktemp('plot_logs'))
    opts = data_options(demo_data, epochs=1)
    opts['model.teacher.checkpoint'] = teacher_ckpt
    opts['custom_hooks'] = Config.fromfile(DISTILL_CFG).custom_hooks + [
        dict(type='mmkd.TeacherMetricsHook')]
    opts['visualizer.name'] = f'plot_logs_{osp.basename(work_dir)}_1'
    train_tool.main([write_config(osp.join(work_dir, 'cfg1.py'), DISTILL_CFG, opts),
                     '--work-dir', work_dir])
    opts.update(data_options(demo_data, epochs=2))
    opts['train_cfg.val_interval'] = 1
    opts['visualizer.name'] = f'plot_logs_{osp.basename(work_dir)}_2'
    train_tool.main([write_config(osp.join(work_dir, 'cfg2.py'), DISTILL_CFG, opts),
                     '--work-dir', work_dir, '--resume', osp.join(work_dir, 'epoch_1.pth')])
    return work_dir


def json_lines(work_dir):
    """Every line of the runs' scalars.json, read independently of the tool."""
    lines = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        lines += [json.loads(line) for line in open(path)]
    return lines


def test_series_of_a_resumed_distill_run(resumed_run):
    series = plot_logs.read_logs(resumed_run)
    assert len(series['files']) == 2
    train = series['train']
    terms = Config.fromfile(DISTILL_CFG).model.kd_terms
    assert plot_logs.kd_keys(train) == sorted(f'loss_kd_{name}' for name in terms)
    for key in plot_logs.kd_keys(train) + ['loss', 'loss_cls', 'loss_bbox', 'kd_weight_hint']:
        assert train[key][0] == list(range(1, 9)), key  # 2 epochs of 4 iterations
    assert plot_logs.task_loss_keys(train) == ['loss', 'loss_bbox', 'loss_cls']
    assert plot_logs.weight_keys(train) == ['kd_weight_cls_pos', 'kd_weight_hint']

    logged = json_lines(resumed_run)
    at_6 = next(line for line in logged if line.get('iter') == 6)
    assert train['loss_kd_hint'][1][5] == at_6['loss_kd_hint'] > 0
    assert train['loss'][1][5] == at_6['loss']
    # The hint warms up over 50 iterations: the weight logged at step s is (s - 1) / 50.
    assert train['kd_weight_hint'][1] == pytest.approx([s / 50 for s in range(8)])

    assert series['val_axis'] == 'epoch'
    assert plot_logs.pick_metric(series) == 'coco/bbox_mAP'
    steps, values = series['val']['coco/bbox_mAP']
    assert steps == [1, 2]
    assert values == [line['coco/bbox_mAP'] for line in logged if 'coco/bbox_mAP' in line]
    teacher = json.load(open(osp.join(resumed_run, 'teacher_metrics.json')))['metrics']
    assert series['val']['teacher/coco/bbox_mAP'] == ([1, 2], [teacher['coco/bbox_mAP']] * 2)


def test_png_of_a_real_run(resumed_run, capsys):
    out = plot_logs.main([resumed_run])
    assert out == osp.join(resumed_run, 'plot_logs.png')
    assert capsys.readouterr().out.strip() == out
    img = Image.open(out)
    assert img.size == (1200, 800)
    pixels = np.asarray(img.convert('L'), np.float32)
    assert pixels.std() > 0
    # a panel's lines are drawn: the top-left quarter (task losses) is not all white
    assert (pixels[:400, :600] < 128).sum() > 1000


def test_teacher_line_of_a_real_run(resumed_run):
    import matplotlib.pyplot as plt
    series = plot_logs.read_logs(resumed_run)
    fig = plot_logs.figure(series, 'coco/bbox_mAP')
    teacher = series['val']['teacher/coco/bbox_mAP'][1][-1]
    lines = fig.axes[3].lines
    assert [line.get_label() for line in lines] == ['student', f'teacher {teacher:.4g}']
    assert list(lines[1].get_ydata()) == [teacher, teacher]
    plt.close(fig)


def test_unknown_metric_lists_the_logged_ones(resumed_run):
    with pytest.raises(SystemExit, match=r"--metric 'mIoU' is not in the logs .*scalars\.json"
                                         r".*'coco/bbox_mAP', 'coco/bbox_mAP_50'"):
        plot_logs.main([resumed_run, '--metric', 'mIoU', '--out', os.devnull])


def test_dir_without_logs_is_a_clear_error(tmp_path):
    (tmp_path / '20260101_000000' / 'vis_data').mkdir(parents=True)  # a run that logged nothing
    with pytest.raises(SystemExit, match=rf'{tmp_path}: no training logs; expected '
                                         r'WORK_DIR/<timestamp>/vis_data/scalars\.json'):
        plot_logs.main([str(tmp_path)])
    with pytest.raises(SystemExit, match='no such directory'):
        plot_logs.read_logs(str(tmp_path / 'missing'))


def write_run(work_dir, stamp, lines, name='scalars.json'):
    os.makedirs(osp.join(work_dir, stamp, 'vis_data'))
    with open(osp.join(work_dir, stamp, 'vis_data', name), 'w') as f:
        f.write(''.join(json.dumps(line) + '\n' for line in lines))


def test_later_run_replaces_from_its_first_step(tmp_path):
    """Run A logs iterations 1..6 (3 per epoch) and validates at epochs 1 and 2; run B, resumed
    from epoch 1, logs iterations 4..6 again and validates at epoch 2 with the teacher's mAP. A's
    iteration 5 and 6 and its epoch 2 are replaced; B is read from ``<timestamp>.json`` (no
    scalars.json), and the older-named dir is read first although created last."""
    work_dir = str(tmp_path)
    write_run(work_dir, '20260102_000000', [
        *[dict(loss=100 + i, loss_kd_a=i, iter=i, epoch=1 + (i - 1) // 3, step=i)
          for i in range(4, 7)],
        {'coco/bbox_mAP': 0.5, 'teacher/coco/bbox_mAP': 0.7, 'time': 1.0, 'step': 2}],
        name='20260102_000000.json')
    write_run(work_dir, '20260101_000000', [
        *[dict(loss=float(i), iter=i, epoch=1 + (i - 1) // 3, step=i) for i in range(1, 7)],
        {'coco/bbox_mAP': 0.1, 'step': 1}, {'coco/bbox_mAP': 0.2, 'step': 2}])
    series = plot_logs.read_logs(work_dir)
    assert [osp.basename(f) for f in series['files']] == ['scalars.json', '20260102_000000.json']
    assert series['train']['loss'] == ([1, 2, 3, 4, 5, 6], [1.0, 2.0, 3.0, 104, 105, 106])
    assert series['train']['loss_kd_a'] == ([4, 5, 6], [4, 5, 6])
    assert series['val']['coco/bbox_mAP'] == ([1, 2], [0.1, 0.5])
    assert series['val_axis'] == 'epoch'
    assert plot_logs.pick_metric(series) == 'coco/bbox_mAP'

    fig = plot_logs.figure(series, 'coco/bbox_mAP')
    metric_ax = fig.axes[3]
    assert [line.get_label() for line in metric_ax.lines] == ['student', 'teacher 0.7']
    assert list(metric_ax.lines[1].get_ydata()) == [0.7, 0.7]
    assert 'no kd_weight_* logged' in [t.get_text() for t in fig.axes[2].texts]


def test_runs_appended_to_one_file(tmp_path):
    """Two runs of one process log into the first one's file; the second (resumed from
    iteration 3) starts where its step goes back, and replaces the first from there."""
    write_run(str(tmp_path), '20260101_000000', [
        *[dict(loss=float(i), iter=i, step=i) for i in range(1, 7)],
        *[dict(loss=100.0 + i, iter=i, step=i) for i in range(4, 9)]])
    series = plot_logs.read_logs(str(tmp_path))
    assert series['train']['loss'] == (list(range(1, 9)), [1, 2, 3, 104, 105, 106, 107, 108])
    assert series['val'] == {} and plot_logs.pick_metric(series) is None
    with pytest.raises(SystemExit, match=r"--metric 'mIoU' .* they have no validation lines"):
        plot_logs.pick_metric(series, 'mIoU')


def test_iteration_based_segmentation_keys(tmp_path):
    """mmseg's head-prefixed losses are task losses, the adversarial terms KD terms, and val
    steps (iterations, with LoggerHook's log_metric_by_epoch=False) go on an iteration axis."""
    write_run(str(tmp_path), '20260101_000000', [
        {'loss': 3.0, 'decode.loss_ce': 1.0, 'decode.acc_seg': 90.0, 'aux.loss_ce': 0.5,
         'loss_kd_pixel': 1.5, 'loss_disc': 0.1, 'disc_wasserstein': 0.2, 'iter': 50, 'step': 50},
        {'mIoU': 13.9, 'aAcc': 92.6, 'step': 50}])
    series = plot_logs.read_logs(str(tmp_path))
    train = series['train']
    assert plot_logs.task_loss_keys(train) == ['loss', 'aux.loss_ce', 'decode.loss_ce']
    assert plot_logs.kd_keys(train) == ['disc_wasserstein', 'loss_disc', 'loss_kd_pixel']
    assert series['val_axis'] == 'iteration'
    assert plot_logs.pick_metric(series) == 'mIoU'
    assert plot_logs.pick_metric(series, 'aAcc') == 'aAcc'
