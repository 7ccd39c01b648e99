"""The KD hooks in few-iteration runs of the demo configs through tools/train.py."""
import glob
import json
import math
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import (DISTILL_CFG, SKD_CFG, data_options, seg_data_options,
                            write_config)
from tools import train as train_tool

pytestmark = pytest.mark.heavy  # trains through the tools

CWD_DEMO = osp.join(osp.dirname(SKD_CFG), '..', 'cwd',
                    'cwd_pspnet-r18-w16_pspnet-r18-w32_0.8k_mmkd-demo.py')


def hook_of(runner, name):
    return next(h for h in runner.hooks if type(h).__name__ == name)


def history(runner, key):
    """Every value logged under ``train/<key>``, in order."""
    return list(runner.message_hub.get_scalar(f'train/{key}').data[0])


def log_text(runner):
    return open(osp.join(runner.log_dir, f'{runner.timestamp}.log')).read()


# ------------------------------------------------------------------------- detection
@pytest.fixture(scope='module')
def det_run(demo_data, teacher_ckpt, tmp_path_factory):
    """2 epochs of 4 iterations of the demo distill config with a third term, ``cls`` (logit KD
    on all anchors) stopped at iteration 5, and every KD hook."""
    work_dir = tmp_path_factory.mktemp('hooks_det')
    opts = data_options(demo_data, epochs=2)
    opts.update({
        'model.teacher.checkpoint': teacher_ckpt,
        'model.kd_terms.cls': dict(loss=dict(type='mmkd.LogitKDLoss', temperature=2.0,
                                             num_anchors=9),
                                   inputs=['s_cls_scores', 't_cls_scores']),
        'train_cfg.val_interval': 1,
        'default_hooks.checkpoint.max_keep_ckpts': 1,
        'default_hooks.checkpoint.save_best': 'auto',
        # in one process, runs whose configs name the same visualizer share it (and its files)
        'visualizer.name': f'hooks_{work_dir.name}',
        'custom_hooks': [
            dict(type='mmkd.KDWeightScheduleHook', schedules=dict(
                hint=dict(warmup=4),
                cls_pos=dict(value=2.0, decay='cosine', decay_begin=2, decay_end=6),
                cls=dict(stop_at=5))),
            dict(type='mmkd.KDLossScaleHook', iters=3),
            dict(type='mmkd.KDVisualizationHook', interval=4),
            dict(type='mmkd.TeacherMetricsHook'),
            dict(type='mmkd.StudentCheckpointHook')],
    })
    config = write_config(work_dir / 'cfg.py', DISTILL_CFG, opts)
    runner = train_tool.main([config, '--work-dir', str(work_dir)])
    return str(work_dir), runner


def test_cosine_decay_by_hand():
    from mmkd.engine.hooks import kd_weight_at
    # t = 1/4: 0 + 2 * (1 + cos(pi / 4)) / 2 = 1 + sqrt(2) / 2
    assert kd_weight_at(3, value=2.0, decay='cosine', decay_begin=2, decay_end=6) == \
        pytest.approx(1 + math.sqrt(2) / 2)
    assert kd_weight_at(4, value=2.0, decay='cosine', decay_begin=2, decay_end=6,
                        final_value=0.5) == pytest.approx(1.25)  # halfway: (2 + 0.5) / 2


def test_schedule_hook_rejects_a_cosine_without_an_end():
    from mmkd.engine.hooks import KDWeightScheduleHook
    with pytest.raises(ValueError, match='cosine decay needs decay_begin and decay_end'):
        KDWeightScheduleHook(schedules=dict(hint=dict(decay='cosine', decay_begin=3)))


def test_schedule_values_logged_every_iteration(det_run):
    _, runner = det_run
    assert history(runner, 'kd_weight_hint') == pytest.approx([0, .25, .5, .75, 1, 1, 1, 1])
    half = math.sqrt(2) / 2
    assert history(runner, 'kd_weight_cls_pos') == pytest.approx(
        [2, 2, 2, 1 + half, 1, 1 - half, 0, 0])
    assert history(runner, 'kd_weight_cls') == [1, 1, 1, 1, 1, 0, 0, 0]


def test_stopped_term_is_no_longer_computed(det_run):
    _, runner = det_run
    # cls stops at iteration 5: its loss is logged for iterations 0..4 only, the task loss for 8
    assert len(history(runner, 'loss_kd_cls')) == 5
    assert len(history(runner, 'loss_cls')) == 8
    assert 'KD term \'cls\' stopped at iteration 5' in log_text(runner)


def test_stopped_terms_leave_no_key_no_gradient_and_no_teacher(det_run):
    _, runner = det_run
    model = runner.model
    calls = []
    handle = model.teacher.backbone.register_forward_hook(lambda *a: calls.append(1))
    data = model.data_preprocessor(next(iter(runner.train_dataloader)), True)
    try:
        model.kd_terms['cls'].stopped = True
        losses = model.loss(**{'inputs': data['inputs'], 'data_samples': data['data_samples']})
        assert 'loss_kd_cls' not in losses and 'loss_kd_hint' in losses and calls
        for term in model.kd_terms.values():
            term.stopped = True
        calls.clear()
        losses = model.loss(data['inputs'], data['data_samples'])
        sum(v if torch.is_tensor(v) else sum(v) for v in losses.values()).backward()
    finally:
        handle.remove()
        for term in model.kd_terms.values():
            term.stopped = False
        model.zero_grad()
    assert not [k for k in losses if k.startswith('loss_kd_')]
    assert not calls  # the teacher did not run
    assert all(p.grad is None for p in model.kd_terms.parameters())


def test_loss_scale_report_and_warning(det_run):
    _, runner = det_run
    hook = hook_of(runner, 'KDLossScaleHook')
    assert set(hook.report) == {'hint', 'cls_pos', 'cls'}
    for term, mean in hook.report.items():
        assert mean['grad_norm'] > 0 and mean['grad_ratio'] > 0
    on_disk = json.load(open(osp.join(runner.log_dir, 'kd_loss_scale.json')))
    assert on_disk['cls']['grad_ratio'] == pytest.approx(hook.report['cls']['grad_ratio'])


def test_loss_scale_warns_for_a_term_1000x_too_large(demo_data, teacher_ckpt, tmp_path):
    """The same term at the demo's weight and at 1000x: only the second is out of range, and
    its warning names the config key."""
    opts = data_options(demo_data, epochs=1)
    opts.update({'model.teacher.checkpoint': teacher_ckpt,
                 'model.kd_terms.hint.loss.loss_weight': 3000.0,
                 'custom_hooks': [dict(type='mmkd.KDLossScaleHook', iters=2)],
                 'train_cfg.val_interval': 10, 'visualizer.name': f'hooks_{tmp_path.name}'})
    runner = train_tool.main([write_config(tmp_path / 'cfg.py', DISTILL_CFG, opts),
                              '--work-dir', str(tmp_path)])
    report = hook_of(runner, 'KDLossScaleHook').report
    text = log_text(runner)
    assert report['hint']['grad_ratio'] > 10
    assert "KD term 'hint'" in text and 'model.kd_terms.hint.loss.loss_weight (now 3000)' in text
    assert 0.01 <= report['cls_pos']['grad_ratio'] <= 10
    assert "KD term 'cls_pos'" not in text.split('over the first')[1].split('\n', 7)[-1]


def test_visualisation_writes_non_blank_pngs(det_run):
    _, runner = det_run
    files = sorted(glob.glob(osp.join(runner.log_dir, 'vis_data', 'vis_image', 'kd_level*')))
    # one picture per neck level (5) every 4 iterations (at 4 and 8)
    assert len(files) == 10
    with Image.open(files[0]) as picture:
        pixels = np.asarray(picture.convert('RGB'))
    # the 160 x 160 demo image and four maps, each under a 14-pixel label
    assert pixels.shape == (160 + 14, 5 * 160, 3)
    assert pixels.std() > 10
    # the student attention tile is not blank either
    assert pixels[14:, 2 * 160:3 * 160].std() > 1


def read_events(log_dir):
    """``(scalars, images)`` of the TensorBoard event file under ``log_dir/vis_data``:
    ``{tag: [(step, value)]}`` and ``{tag: [(step, RGB array)]}``."""
    import io
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    files = glob.glob(osp.join(log_dir, 'vis_data', 'events.out.tfevents.*'))
    assert len(files) == 1, files
    events = EventAccumulator(files[0], size_guidance={'scalars': 0, 'images': 0})
    events.Reload()
    tags = events.Tags()
    scalars = {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in tags['scalars']}
    images = {tag: [(e.step, np.asarray(Image.open(io.BytesIO(e.encoded_image_string))
                                        .convert('RGB'))) for e in events.Images(tag)]
              for tag in tags['images']}
    return scalars, images


def test_tensorboard_holds_the_kd_scalars_and_pictures(det_run):
    """The demo runtime's TensorBoard backend: the event file holds what the logger logged (the
    same values as the local backend's scalars.json) and the visualisation hook's pictures,
    pixel for pixel as the PNG files."""
    _, runner = det_run
    scalars, images = read_events(runner.log_dir)
    # the tests log every iteration (steps 1 to 8); a schedule weight is that iteration's value
    steps = list(range(1, 9))
    assert scalars['kd_weight_hint'] == list(zip(steps, [0, .25, .5, .75, 1, 1, 1, 1]))
    assert scalars['kd_weight_cls'] == list(zip(steps, [1, 1, 1, 1, 1, 0, 0, 0]))
    with open(osp.join(runner.log_dir, 'vis_data', 'scalars.json')) as f:
        logged = [row for row in map(json.loads, f) if 'loss_kd_hint' in row]
    assert [row['step'] for row in logged] == steps
    for key in ('loss_kd_hint', 'loss_kd_cls_pos', 'loss_cls', 'kd_weight_cls_pos'):
        assert scalars[key] == [(row['step'], pytest.approx(row[key], rel=1e-6))
                                for row in logged], key
    # a loss is the mean over the logger's window (10 iterations): at step 4, of the first 4
    assert scalars['loss_kd_hint'][3][1] == pytest.approx(
        np.mean(history(runner, 'loss_kd_hint')[:4]), rel=1e-5)
    for level in range(5):
        steps = images[f'kd_level{level}']
        assert [step for step, _ in steps] == [4, 8]
        for step, pixels in steps:
            png = osp.join(runner.log_dir, 'vis_data', 'vis_image', f'kd_level{level}_{step}.png')
            with Image.open(png) as picture:
                assert np.array_equal(pixels, np.asarray(picture.convert('RGB')))


def test_tensorboard_backend_without_tensorboard_warns_and_writes_nothing(tmp_path, monkeypatch):
    from mmkd.engine.visualization import tensorboard as module
    warnings = []
    monkeypatch.setattr(module, 'tensorboard_available', lambda: False)
    monkeypatch.setattr(module, 'print_log', lambda msg, **kw: warnings.append(msg))
    backend = module.OptionalTensorboardVisBackend(str(tmp_path))
    assert len(warnings) == 1 and 'pip install "mmkd[tensorboard]"' in warnings[0]
    backend.add_scalars({'loss_kd_hint': 1.0}, step=1)
    backend.add_image('kd_level0', np.zeros((4, 4, 3), np.uint8), step=1)
    backend.close()
    assert not backend.available and list(tmp_path.iterdir()) == []

def test_teacher_metrics_once_and_best_checkpoint_on_the_student(det_run):
    work_dir, runner = det_run
    hook = hook_of(runner, 'TeacherMetricsHook')
    assert hook.evaluations == 1
    text = log_text(runner)
    assert text.count('teacher/coco/bbox_mAP: ') == 2  # logged at both validations
    checkpoint_hook = hook_of(runner, 'SafeCheckpointHook')
    assert checkpoint_hook.key_indicators == ['coco/bbox_mAP']
    assert glob.glob(osp.join(work_dir, 'best_coco_bbox_mAP_epoch_*.pth'))
    cache = json.load(open(osp.join(work_dir, 'teacher_metrics.json')))
    assert cache['metrics']['coco/bbox_mAP'] == pytest.approx(hook.metrics['coco/bbox_mAP'])


def test_student_checkpoints_follow_the_full_ones(det_run):
    work_dir, _ = det_run
    full = sorted(osp.basename(p) for p in glob.glob(osp.join(work_dir, '*.pth'))
                  if not p.endswith('_student.pth'))
    students = sorted(osp.basename(p) for p in glob.glob(osp.join(work_dir, '*_student.pth')))
    # max_keep_ckpts=1 removed epoch_1.pth, and with it epoch_1_student.pth
    assert 'epoch_1_student.pth' not in students and 'epoch_2_student.pth' in students
    assert students == [name[:-4] + '_student.pth' for name in full]
    state = torch.load(osp.join(work_dir, 'epoch_2_student.pth'), weights_only=True)
    distiller = torch.load(osp.join(work_dir, 'epoch_2.pth'), weights_only=True)
    for key, value in state['state_dict'].items():
        assert torch.equal(value, distiller['state_dict'][f'student.{key}'])


def test_student_checkpoint_loads_in_plain_mmdet(det_run):
    work_dir, _ = det_run
    script = textwrap.dedent(f"""
        import sys, torch
        from mmdet.apis import init_detector
        model = init_detector({osp.join(work_dir, 'student_config.py')!r},
                              {osp.join(work_dir, 'epoch_2_student.pth')!r}, device='cpu')
        assert 'mmkd' not in sys.modules, 'mmkd was imported'
        print(sum(p.numel() for p in model.parameters()))
    """)
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                         cwd=osp.dirname(work_dir))
    assert out.returncode == 0, out.stderr[-2000:]
    state = torch.load(osp.join(work_dir, 'epoch_2_student.pth'), weights_only=True)
    assert int(out.stdout.split()[-1]) == sum(
        v.numel() for k, v in state['state_dict'].items() if 'running' not in k
        and 'num_batches' not in k)


# ------------------------------------------------------------------------- segmentation
@pytest.fixture(scope='module')
def seg_run(demo_data, seg_teacher_ckpt, tmp_path_factory):
    """3 iterations of the CWD demo config, validated after each, with the visualisation, teacher
    metrics and student checkpoint hooks."""
    work_dir = tmp_path_factory.mktemp('hooks_seg')
    opts = seg_data_options(demo_data, iters=3)
    opts.update({'model.teacher.checkpoint': seg_teacher_ckpt,
                 'train_cfg.val_interval': 1,
                 'default_hooks.checkpoint.save_best': 'mIoU',
                 'default_hooks.checkpoint.rule': 'greater',
                 'visualizer.name': f'hooks_{work_dir.name}',
                 'custom_hooks': [dict(type='mmkd.KDVisualizationHook', interval=3),
                                  dict(type='mmkd.TeacherMetricsHook',
                                       cache_file=str(work_dir / 'teacher.json')),
                                  dict(type='mmkd.StudentCheckpointHook')]})
    config = write_config(work_dir / 'cfg.py', CWD_DEMO, opts)
    return str(work_dir), config, train_tool.main([config, '--work-dir', str(work_dir)])


def test_seg_visualisation(seg_run):
    _, _, runner = seg_run
    files = glob.glob(osp.join(runner.log_dir, 'vis_data', 'vis_image', 'kd_logits_3.png'))
    assert len(files) == 1
    with Image.open(files[0]) as picture:
        pixels = np.asarray(picture.convert('RGB'))
    # image + teacher/student class + teacher/student confidence + disagreement
    assert pixels.shape == (160 + 14, 6 * 160, 3)
    assert pixels.std() > 10


def test_seg_teacher_metrics_once_and_best_on_the_student(seg_run):
    work_dir, config, runner = seg_run
    hook = hook_of(runner, 'TeacherMetricsHook')
    assert hook.evaluations == 1
    scalars = [json.loads(line) for line in open(osp.join(runner.log_dir, 'vis_data',
                                                           'scalars.json'))]
    vals = [s for s in scalars if 'mIoU' in s]
    assert len(vals) == 3 and all(s['teacher/mIoU'] == hook.metrics['mIoU'] for s in vals)
    best = max(s['mIoU'] for s in vals)
    assert runner.message_hub.get_info('best_score') == pytest.approx(best)
    # a second run with the same cache reads it: the teacher is not evaluated again
    again = train_tool.main([config, '--work-dir', osp.join(work_dir, 'again'),
                             '--cfg-options', 'train_cfg.max_iters=1',
                             f'visualizer.name=hooks_{osp.basename(work_dir)}_again'])
    assert hook_of(again, 'TeacherMetricsHook').evaluations == 0
    assert hook_of(again, 'TeacherMetricsHook').metrics == hook.metrics


def test_seg_student_checkpoint_loads_in_plain_mmseg(seg_run):
    work_dir, _, _ = seg_run
    best = glob.glob(osp.join(work_dir, 'best_mIoU_iter_*_student.pth'))
    assert len(best) == 1 and osp.isfile(osp.join(work_dir, 'iter_3_student.pth'))
    script = textwrap.dedent(f"""
        import sys, torch
        from mmseg.apis import init_model
        model = init_model({osp.join(work_dir, 'student_config.py')!r}, {best[0]!r},
                           device='cpu')
        assert 'mmkd' not in sys.modules, 'mmkd was imported'
        print(model.dataset_meta['classes'][0], float(model.decode_head.conv_seg.weight.sum()))
    """)
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    state = torch.load(best[0], weights_only=True)
    name, total = out.stdout.split()[-2:]
    assert name == state['meta']['dataset_meta']['classes'][0]
    assert float(total) == pytest.approx(float(state['state_dict']['decode_head.conv_seg.weight']
                                               .sum()), rel=1e-6)
