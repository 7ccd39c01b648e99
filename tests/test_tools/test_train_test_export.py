"""End to end on the tiny demo data: tools/train.py, resume, tools/test.py, export, custom loss."""
import json
import math
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch

from tests.helpers import DISTILL_CFG, data_options, write_config
from tools import export_student as export_tool
from tools import test as test_tool
from tools import train as train_tool

pytestmark = pytest.mark.heavy  # trains through the tools


def distill_config(path, demo_data, teacher_ckpt, epochs=1, **extra):
    """The demo distill config on the tiny data, with a logit KD term added."""
    opts = data_options(demo_data, epochs=epochs)
    opts['model.teacher.checkpoint'] = teacher_ckpt
    opts['model.kd_terms.cls'] = dict(
        loss=dict(type='mmkd.LogitKDLoss', temperature=2.0, num_anchors=9),
        inputs=['s_cls_scores', 't_cls_scores'])
    opts.update(extra)
    return write_config(path, DISTILL_CFG, opts)


@pytest.fixture(scope='module')
def distill_run(demo_data, teacher_ckpt, tmp_path_factory):
    """One epoch (4 iterations of 4 images) of the demo distill config."""
    work_dir = tmp_path_factory.mktemp('distill')
    config = distill_config(work_dir / 'cfg1.py', demo_data, teacher_ckpt)
    runner = train_tool.main([config, '--work-dir', str(work_dir)])
    return str(work_dir), runner


def test_train_writes_student_only_checkpoint_and_logs_kd_terms(distill_run):
    work_dir, runner = distill_run
    ckpt = torch.load(osp.join(work_dir, 'epoch_1.pth'), weights_only=True)
    keys = ckpt['state_dict'].keys()
    assert any(k.startswith('student.') for k in keys)
    assert not any(k.startswith('teacher.') for k in keys)
    assert runner.iter == 4
    for key in ('train/loss_kd_hint', 'train/loss_kd_cls', 'train/loss_kd_cls_pos',
                'train/loss_cls'):
        assert runner.message_hub.get_scalar(key).current() > 0
    # The config warms the hint up over 50 iterations: at the last iteration (index 3), 3 / 50.
    assert runner.message_hub.get_scalar('train/kd_weight_hint').current() == pytest.approx(0.06)
    assert runner.message_hub.get_scalar('train/kd_weight_cls').current() == 1.0


def test_test_tool_gives_coco_map(distill_run, demo_data):
    """tools/test.py on epoch_1.pth evaluates the weights the training validated at the end of
    epoch 1 on the same images: the same COCO metrics."""
    work_dir, runner = distill_run
    out = osp.join(work_dir, 'metrics.json')
    config = write_config(osp.join(work_dir, 'test_cfg.py'), DISTILL_CFG, data_options(demo_data))
    metrics = test_tool.main([config, osp.join(work_dir, 'epoch_1.pth'), '--work-dir',
                              osp.join(work_dir, 'test'), '--metrics-json', out])
    hub = runner.message_hub
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50'):
        assert metrics[key] == pytest.approx(hub.get_scalar(f'val/{key}').current()), key
    assert json.load(open(out))['coco/bbox_mAP'] == pytest.approx(metrics['coco/bbox_mAP'])


def test_test_tool_teacher_flag(distill_run, demo_data, teacher_ckpt):
    work_dir, _ = distill_run
    config = write_config(osp.join(work_dir, 'test_cfg.py'), DISTILL_CFG, data_options(demo_data))
    metrics = test_tool.main([config, teacher_ckpt, '--teacher', '--work-dir',
                              osp.join(work_dir, 'test_teacher')])
    assert 'coco/bbox_mAP' in metrics


def test_resume_under_weights_only(distill_run, demo_data, teacher_ckpt):
    """Resuming loads the runner checkpoint with torch's default weights_only=True (message hub,
    optimizer, schedulers) and continues from iteration 4 to 8."""
    assert not os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD')
    work_dir, first = distill_run
    config = distill_config(osp.join(work_dir, 'cfg2.py'), demo_data, teacher_ckpt, epochs=2)
    runner = train_tool.main([config, '--work-dir', work_dir, '--resume',
                              osp.join(work_dir, 'epoch_1.pth')])
    assert first.iter == 4
    assert runner.iter == 8 and runner.epoch == 2
    assert osp.isfile(osp.join(work_dir, 'epoch_2.pth'))


def test_export_round_trip_identical_predictions(distill_run, demo_data, teacher_ckpt,
                                                 tmp_path):
    """The exported student, loaded by mmdet's init_detector in a process that never imports
    mmkd, predicts exactly what the distiller predicts."""
    from mmdet.apis import inference_detector
    from mmengine.config import Config

    from mmkd.apis import plain_config
    from mmkd.registry import MODELS
    work_dir, _ = distill_run
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    out_dir = str(tmp_path / 'export')
    export_tool.main([DISTILL_CFG, ckpt, out_dir])
    img = osp.join(demo_data, 'leftImg8bit', 'val', 'demo', 'val_00000_leftImg8bit.png')
    pred_file = str(tmp_path / 'pred.pt')
    script = textwrap.dedent(f'''
        import sys, torch
        from mmdet.apis import init_detector, inference_detector
        model = init_detector({out_dir!r} + '/student_config.py', {out_dir!r} + '/student.pth',
                              device='cpu')
        pred = inference_detector(model, {img!r}).pred_instances
        assert not any(m.split('.')[0] == 'mmkd' for m in sys.modules), 'mmkd was imported'
        torch.save(dict(bboxes=pred.bboxes, scores=pred.scores, labels=pred.labels,
                        classes=model.dataset_meta['classes']), {pred_file!r})
    ''')
    env = dict(os.environ, PYTHONPATH='')
    subprocess.run([sys.executable, '-c', script], check=True, cwd=str(tmp_path), env=env)
    exported = torch.load(pred_file, weights_only=True)

    cfg = Config.fromfile(DISTILL_CFG)
    cfg.model.teacher.checkpoint = teacher_ckpt
    distiller = MODELS.build(cfg.model)
    distiller.load_state_dict(torch.load(ckpt, weights_only=True)['state_dict'])
    distiller.cfg = plain_config(cfg, cfg.model.student, 'mmdet')
    distiller.eval()
    ours = inference_detector(distiller, img).pred_instances
    assert exported['classes'] == tuple(str(d) for d in range(10))
    assert len(ours.scores) > 0
    assert torch.equal(exported['labels'], ours.labels)
    assert torch.allclose(exported['bboxes'], ours.bboxes, atol=1e-5)
    assert torch.allclose(exported['scores'], ours.scores, atol=1e-6)


def test_custom_loss_from_custom_imports(demo_data, teacher_ckpt, tmp_path, monkeypatch):
    """A loss registered in a user module, imported with custom_imports, runs for 2 iterations."""
    (tmp_path / 'my_kd_loss.py').write_text(textwrap.dedent('''
        import torch.nn as nn
        from mmkd.registry import MODELS

        @MODELS.register_module()
        class MyL1KDLoss(nn.Module):
            def __init__(self, loss_weight=1.0):
                super().__init__()
                self.loss_weight = loss_weight

            def forward(self, s_feat, t_feat):
                return self.loss_weight * (s_feat - t_feat.detach()).abs().mean()
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    config = distill_config(
        tmp_path / 'custom.py', demo_data, teacher_ckpt,
        custom_imports=dict(imports=['my_kd_loss'], allow_failed_imports=False),
        **{'train_dataloader.batch_size': 8,
           'model.kd_terms': dict(l1=dict(loss=dict(type='MyL1KDLoss', loss_weight=2.0),
                                          inputs=['s_neck', 't_neck'], levels=[0]))})
    runner = train_tool.main([config, '--work-dir', str(tmp_path / 'wd')])
    assert runner.iter == 2
    assert set(runner.model.kd_terms) == {'hint', 'cls_pos', 'l1'}
    assert runner.message_hub.get_scalar('train/loss_kd_l1').current() > 0


def test_default_scope_mmkd_runs_mmdet_types(demo_data, teacher_ckpt, tmp_path):
    """With default_scope='mmkd' the runner still finds mmdet's dataset, transforms, metric and
    hooks (through mmkd's registry fallback) and the distiller builds its mmdet models."""
    config = distill_config(tmp_path / 'scope.py', demo_data, teacher_ckpt,
                            default_scope='mmkd', **{'train_dataloader.batch_size': 8})
    runner = train_tool.main([config, '--work-dir', str(tmp_path / 'wd')])
    assert runner.iter == 2
    assert runner.message_hub.get_scalar('train/loss_kd_hint').current() > 0


@pytest.mark.skipif(torch.cuda.is_available(), reason='on a GPU --amp takes AmpOptimWrapper')
def test_amp_on_cpu_trains_in_bf16(demo_data, teacher_ckpt, tmp_path):
    """--amp on a machine without CUDA: bf16 autocast through mmkd.BF16OptimWrapper, finite
    losses, the student updated."""
    config = distill_config(tmp_path / 'cfg.py', demo_data, teacher_ckpt,
                            **{'train_cfg.val_interval': 10,
                               'visualizer.name': f'amp_{tmp_path.name}'})
    runner = train_tool.main([config, '--work-dir', str(tmp_path / 'wd'), '--amp'])
    assert type(runner.optim_wrapper).__name__ == 'BF16OptimWrapper'
    for key in ('loss', 'loss_cls', 'loss_kd_hint', 'loss_kd_cls'):
        values = runner.message_hub.get_scalar(f'train/{key}').data[0]
        assert len(values) == 4 and all(math.isfinite(v) for v in values), key


def test_test_tool_names_a_mismatched_checkpoint(distill_run, demo_data, tmp_path):
    """The student's weights given as the teacher's: the error lists the reshaped keys."""
    work_dir, _ = distill_run
    export_tool.main([DISTILL_CFG, osp.join(work_dir, 'epoch_1.pth'), str(tmp_path)])
    config = write_config(str(tmp_path / 'cfg.py'), DISTILL_CFG, data_options(demo_data))
    with pytest.raises(ValueError, match=r"(?s)student\.pth' does not match the teacher of .*"
                                         r'shape mismatches: backbone\.conv1\.weight: '
                                         r'checkpoint \(16, 3, 7, 7\) vs model \(64, 3, 7, 7\)'):
        test_tool.main([config, str(tmp_path / 'student.pth'), '--teacher',
                        '--work-dir', str(tmp_path / 'wd')])
