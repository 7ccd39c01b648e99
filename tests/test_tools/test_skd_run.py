"""Adversarial segmentation KD end to end on the tiny demo data: tools/train.py with two
optimizers, resume (discriminator and both optimizers restored), tools/test.py with mmseg's
IoUMetric, and an export that mmseg's init_model loads without mmkd."""
import copy
import os
import os.path as osp
import subprocess
import sys
import textwrap

import pytest
import torch
from mmengine.hooks import Hook

from mmkd.registry import HOOKS
from tests.helpers import SKD_CFG, seg_data_options, write_config
from tools import export_student as export_tool
from tools import test as test_tool
from tools import train as train_tool

pytestmark = pytest.mark.heavy  # trains through the tools

RESUMED = {}


@HOOKS.register_module(force=True)
class KeepStateAtStart(Hook):
    """Keeps the discriminator's weights and both optimizers' states as training starts, after
    the runner resumed."""

    def before_train(self, runner):
        RESUMED['discriminator'] = {k: v.clone() for k, v in
                                    runner.model.discriminator.state_dict().items()}
        # a copy: the state dict holds the live buffers that training then updates in place
        RESUMED['optimizer'] = copy.deepcopy(runner.optim_wrapper.state_dict())
        RESUMED['iter'] = runner.iter


def skd_config(path, demo_data, seg_teacher_ckpt, iters):
    opts = seg_data_options(demo_data, iters=iters)
    opts['model.teacher.checkpoint'] = seg_teacher_ckpt
    opts['custom_hooks'] = [dict(type='mmkd.KeepStateAtStart')]
    return write_config(path, SKD_CFG, opts)


@pytest.fixture(scope='module')
def skd_run(demo_data, seg_teacher_ckpt, tmp_path_factory):
    """Two iterations of the demo SKD config (pixel + pair + holistic, one D step each)."""
    work_dir = tmp_path_factory.mktemp('skd')
    config = skd_config(work_dir / 'cfg2.py', demo_data, seg_teacher_ckpt, iters=2)
    runner = train_tool.main([config, '--work-dir', str(work_dir)])
    return str(work_dir), runner


def test_two_optimizers_train_and_log(skd_run):
    work_dir, runner = skd_run
    assert runner.iter == 2
    hub = runner.message_hub
    for key in ('loss_kd_pixel', 'loss_kd_pair', 'loss_disc', 'disc_gp'):
        assert torch.isfinite(torch.tensor(hub.get_scalar(f'train/{key}').current()))
    assert hub.get_scalar('train/loss_kd_pixel').current() > 0
    ckpt = torch.load(osp.join(work_dir, 'iter_2.pth'), weights_only=True)
    assert set(ckpt['optimizer']) == {'student', 'discriminator'}
    assert set(ckpt['param_schedulers']) == {'student', 'discriminator'}
    assert any(k.startswith('discriminator.') for k in ckpt['state_dict'])
    assert not any(k.startswith('teacher.') for k in ckpt['state_dict'])
    adam = ckpt['optimizer']['discriminator']['state']
    assert {float(s['step']) for s in adam.values()} == {2.0}


def test_resume_restores_discriminator_and_both_optimizers(skd_run, demo_data,
                                                           seg_teacher_ckpt):
    work_dir, _ = skd_run
    saved = torch.load(osp.join(work_dir, 'iter_2.pth'), weights_only=True)
    config = skd_config(osp.join(work_dir, 'cfg4.py'), demo_data, seg_teacher_ckpt, iters=4)
    runner = train_tool.main([config, '--work-dir', work_dir, '--resume',
                              osp.join(work_dir, 'iter_2.pth')])
    assert RESUMED['iter'] == 2 and runner.iter == 4
    for key, value in RESUMED['discriminator'].items():
        assert torch.equal(value, saved['state_dict'][f'discriminator.{key}']), key
    for part in ('student', 'discriminator'):
        now, then = RESUMED['optimizer'][part]['state'], saved['optimizer'][part]['state']
        assert now.keys() == then.keys() and len(now) > 0
        for index, state in then.items():
            for name, value in state.items():
                assert torch.equal(torch.as_tensor(now[index][name]),
                                   torch.as_tensor(value)), (part, index, name)
    last = torch.load(osp.join(work_dir, 'iter_4.pth'), weights_only=True)
    adam = last['optimizer']['discriminator']['state']
    assert {float(s['step']) for s in adam.values()} == {4.0}


def test_test_tool_gives_miou(skd_run, demo_data, tmp_path):
    """tools/test.py on iter_2.pth evaluates the student the training validated at iteration 2
    on the same images: the same mIoU and aAcc."""
    work_dir, runner = skd_run
    config = write_config(tmp_path / 'test_cfg.py', SKD_CFG, seg_data_options(demo_data))
    metrics = test_tool.main([config, osp.join(work_dir, 'iter_2.pth'), '--work-dir',
                              str(tmp_path / 'test')])
    hub = runner.message_hub
    for key in ('mIoU', 'aAcc'):
        assert metrics[key] == pytest.approx(hub.get_scalar(f'val/{key}').current()), key


def test_export_loads_in_plain_mmseg(skd_run, demo_data, seg_teacher_ckpt, tmp_path):
    """mmseg's init_model, in a process that never imports mmkd, predicts what the distiller's
    student predicts."""
    from mmengine.config import Config
    from mmseg.apis import inference_model

    from mmkd.apis import plain_config
    from mmkd.registry import MODELS
    work_dir, _ = skd_run
    ckpt = osp.join(work_dir, 'iter_2.pth')
    out_dir = str(tmp_path / 'export')
    export_tool.main([SKD_CFG, ckpt, out_dir])
    exported_cfg = Config.fromfile(osp.join(out_dir, 'student_config.py'))
    assert exported_cfg.optim_wrapper.optimizer.type == 'SGD'
    assert 'constructor' not in exported_cfg.optim_wrapper
    img = osp.join(demo_data, 'leftImg8bit', 'val', 'demo', 'val_00000_leftImg8bit.png')
    pred_file = str(tmp_path / 'pred.pt')
    script = textwrap.dedent(f'''
        import sys, torch
        from mmseg.apis import init_model, inference_model
        model = init_model({out_dir!r} + '/student_config.py', {out_dir!r} + '/student.pth',
                           device='cpu')
        pred = inference_model(model, {img!r})
        assert not any(m.split('.')[0] == 'mmkd' for m in sys.modules), 'mmkd was imported'
        torch.save(dict(logits=pred.seg_logits.data, labels=pred.pred_sem_seg.data), {pred_file!r})
    ''')
    env = dict(os.environ, PYTHONPATH='')
    subprocess.run([sys.executable, '-c', script], check=True, cwd=str(tmp_path), env=env)
    exported = torch.load(pred_file, weights_only=True)

    cfg = Config.fromfile(SKD_CFG)
    cfg.model.teacher.checkpoint = seg_teacher_ckpt
    distiller = MODELS.build(cfg.model)
    distiller.load_state_dict(torch.load(ckpt, weights_only=True)['state_dict'])
    distiller.cfg = plain_config(cfg, cfg.model.student, 'mmseg')
    distiller.eval()
    ours = inference_model(distiller, img)
    assert exported['logits'].shape == (11, 160, 160)
    assert torch.allclose(exported['logits'], ours.seg_logits.data, atol=1e-5)
    assert torch.equal(exported['labels'], ours.pred_sem_seg.data)
