"""A distill config runs unchanged through mmdet's and mmseg's own ``tools/train.py`` (shipped in
their wheels under ``.mim/tools``), with the same losses, iteration by iteration, as through
ours: the config carries what runs (checkpoint hook, DDP wrapper, the import of mmkd), not the
tool."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.helpers import (DISTILL_CFG, SKD_CFG, data_options, seg_data_options,
                           write_config)

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def mm_tool(package, name):
    """The path of ``package``'s own ``tools/<name>``."""
    import importlib
    return osp.join(osp.dirname(importlib.import_module(package).__file__), '.mim', 'tools',
                    name)


def mm_train(package):
    return mm_tool(package, 'train.py')


def run_tool(args):
    """Runs ``python ARGS`` in the repo with mmkd importable; returns stdout + stderr."""
    env = dict(os.environ, OMP_NUM_THREADS='1', PYTHONPATH=ROOT)
    out = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=900)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    return out.stdout + out.stderr


def train(script, config, work_dir):
    run_tool([script, config, '--work-dir', str(work_dir)])
    return json.load(open(osp.join(work_dir, 'rank0_losses.json')))


def probes(extra):
    """Keeps every iteration's losses (tests/run_probes.py); ``custom_imports`` replaces the
    config's own, so it names mmkd again."""
    return dict(extra, custom_hooks=[dict(type='mmkd.DumpRankStateHook')],
                custom_imports=dict(imports=['mmkd', 'tests.run_probes'],
                                    allow_failed_imports=False))


def assert_same_losses(theirs, ours):
    assert sorted(theirs) == sorted(ours) and len(ours) >= 2
    for it in ours:
        assert sorted(theirs[it]) == sorted(ours[it]), it
        assert any(k.startswith('loss_kd_') for k in ours[it])
        for key, value in ours[it].items():
            assert theirs[it][key] == pytest.approx(value, rel=1e-5, abs=1e-7), (it, key)


@pytest.mark.heavy
def test_detection_config_through_mmdet_train_gives_our_losses(demo_data, teacher_ckpt, tmp_path):
    opts = probes(data_options(demo_data, epochs=1, batch_size=4))
    opts['model.teacher.checkpoint'] = teacher_ckpt
    config = write_config(tmp_path / 'cfg.py', DISTILL_CFG, opts)
    theirs = train(mm_train('mmdet'), config, tmp_path / 'mmdet')
    ours = train(osp.join(ROOT, 'tools', 'train.py'), config, tmp_path / 'ours')
    assert_same_losses(theirs, ours)
    # mmdet's tool ran mmkd's checkpoint hook: the checkpoint holds the random state
    ckpt = torch.load(osp.join(tmp_path, 'mmdet', 'epoch_1.pth'), weights_only=True)
    assert 'rng_state' in ckpt['meta']
    # mmdet's tools/test.py evaluates the distiller checkpoint's student as ours does
    ckpt = osp.join(tmp_path, 'ours', 'epoch_1.pth')
    theirs = detections(mm_tool('mmdet', 'test.py'), config, ckpt, tmp_path / 'mmdet_test')
    ours = detections(osp.join(ROOT, 'tools', 'test.py'), config, ckpt, tmp_path / 'ours_test')
    assert len(ours) > 0 and theirs == ours


def detections(script, config, checkpoint, work_dir):
    """The COCO detections (bbox json) ``script`` CONFIG CHECKPOINT writes."""
    run_tool([script, config, checkpoint, '--work-dir', str(work_dir),
              '--cfg-options', f'test_evaluator.outfile_prefix={work_dir}/dets'])
    with open(osp.join(work_dir, 'dets.bbox.json')) as f:
        return json.load(f)


@pytest.mark.heavy
def test_adversarial_config_through_mmseg_train_gives_our_losses(demo_data, seg_teacher_ckpt,
                                                                  tmp_path):
    opts = probes(seg_data_options(demo_data, iters=3))
    opts['model.teacher.checkpoint'] = seg_teacher_ckpt
    config = write_config(tmp_path / 'cfg.py', SKD_CFG, opts)
    theirs = train(mm_train('mmseg'), config, tmp_path / 'mmseg')
    ours = train(osp.join(ROOT, 'tools', 'train.py'), config, tmp_path / 'ours')
    assert_same_losses(theirs, ours)
    # the discriminator trained in both (its own loss keys are logged each iteration)
    assert any(k.startswith('loss_d') or 'disc' in k for k in ours['1'])
    # mmseg's tools/test.py evaluates the distiller checkpoint's student as ours does
    ckpt = osp.join(tmp_path, 'ours', 'iter_3.pth')
    theirs = seg_metrics(mm_tool('mmseg', 'test.py'), config, ckpt, tmp_path / 'mmseg_test')
    ours = seg_metrics(osp.join(ROOT, 'tools', 'test.py'), config, ckpt, tmp_path / 'ours_test')
    assert theirs == ours and float(ours['aAcc']) > 0


def seg_metrics(script, config, checkpoint, work_dir):
    """The aAcc, mIoU and mAcc that ``script`` CONFIG CHECKPOINT logs (two decimals)."""
    import re
    log = run_tool([script, config, checkpoint, '--work-dir', str(work_dir)])
    found = re.findall(r'aAcc: ([0-9.]+)\s+mIoU: ([0-9.]+)\s+mAcc: ([0-9.]+)', log)
    assert found, log[-2000:]
    return dict(zip(('aAcc', 'mIoU', 'mAcc'), found[-1]))


def launch(package, config, work_dir, port):
    """CONFIG in 2 processes through ``package``'s own tools/train.py (torch.distributed.run;
    tests/launch_cpu.py joins the gloo group that MMEngine's launcher cannot join on a CPU
    build). The config's wrapper is mmkd's in both processes, as under our tools/train.py
    (whose DDP runs are checked against one process in tests/test_engine/test_distributed.py).
    Returns each process's losses and final state."""
    run_tool(['-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port', str(port),
              osp.join(ROOT, 'tests', 'launch_cpu.py'), mm_train(package), config,
              '--launcher', 'pytorch', '--work-dir', str(work_dir)])
    for r in (0, 1):
        with open(osp.join(work_dir, f'rank{r}_wrapper.txt')) as f:
            assert f.read() == 'KDDistributedDataParallel', r
    return [json.load(open(osp.join(work_dir, f'rank{r}_losses.json'))) for r in (0, 1)], \
        [torch.load(osp.join(work_dir, f'rank{r}_state.pth'), weights_only=True) for r in (0, 1)]


def assert_own_steps(losses):
    """Both processes logged the KD losses of every iteration, on images of their own: the
    first iteration's losses differ between them."""
    assert sorted(losses[0]) == sorted(losses[1]) and len(losses[0]) >= 2
    for rank in (0, 1):
        assert all(any(k.startswith('loss_kd_') for k in it) for it in losses[rank].values())
    first = min(losses[0], key=int)
    assert losses[0][first]['loss'] != losses[1][first]['loss']


@pytest.mark.heavy
def test_adversarial_config_through_mmseg_train_under_a_launcher(demo_data, seg_teacher_ckpt,
                                                                 tmp_path):
    """SKD in 2 processes through mmseg's own tools/train.py: the config's
    mmkd.KDDistributedDataParallel runs (under MMEngine's own wrapper the discriminator,
    stepped outside DDP's forward, would never train), each process steps on its own images and
    the discriminator ends trained and equal in both processes."""
    opts = probes(seg_data_options(demo_data, iters=3, batch_size=2))
    opts.update({'model.teacher.checkpoint': seg_teacher_ckpt, 'train_cfg.val_interval': 100})
    config = write_config(tmp_path / 'cfg.py', SKD_CFG, opts)
    losses, states = launch('mmseg', config, tmp_path / 'mmseg', 29521)
    assert_own_steps(losses)
    disc = [k for k in states[0] if k.startswith('discriminator.') and
            states[0][k].is_floating_point() and 'running_' not in k]
    assert disc
    for key in disc:
        assert torch.equal(states[0][key], states[1][key]), key
    # trained: the discriminator's weights moved from their initialisation
    from mmengine.config import Config
    from mmkd.models.distillers.build import build_model
    cfg = Config.fromfile(config)
    torch.manual_seed(0)
    initial = build_model(cfg.model, 'mmseg').state_dict()
    weights = [k for k in disc if k.endswith(('weight', 'weight.original'))]
    assert weights and all(not torch.equal(initial[k], states[0][k]) for k in weights)


@pytest.mark.heavy
def test_detection_config_through_mmdet_train_under_a_launcher(demo_data, teacher_ckpt,
                                                               tmp_path):
    """The demo distill config in 2 processes through mmdet's own tools/train.py: mmkd's wrapper
    runs, each process steps on its own images, and the processes end with the same student."""
    opts = probes(data_options(demo_data, epochs=1, batch_size=2))
    opts.update({'model.teacher.checkpoint': teacher_ckpt, 'train_cfg.val_interval': 100})
    config = write_config(tmp_path / 'cfg.py', DISTILL_CFG, opts)
    losses, states = launch('mmdet', config, tmp_path / 'mmdet', 29523)
    assert_own_steps(losses)
    student = [k for k in states[0] if k.startswith('student.') and 'running_' not in k and
               states[0][k].is_floating_point()]
    assert student and all(torch.equal(states[0][k], states[1][k]) for k in student)
