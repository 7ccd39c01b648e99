"""Kill a run and resume it: the following iterations' losses equal an uninterrupted run's
(detection KD with random flips, adversarial segmentation KD), and a kill during a checkpoint
write loses no checkpoint."""
import json
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.helpers import DISTILL_CFG, SKD_CFG, data_options, seg_data_options, write_config

pytestmark = pytest.mark.heavy  # trains through the tools

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PROBES = dict(imports=['tests.run_probes'], allow_failed_imports=False)


def train(config, work_dir, *options, killed=False):
    cmd = [sys.executable, 'tools/train.py', str(config), '--work-dir', str(work_dir),
           *options]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={'PYTHONPATH': ROOT, 'PATH': '/usr/bin:/bin',
                              'OMP_NUM_THREADS': '2'})
    if killed:
        assert out.returncode == 9, (out.stdout + out.stderr)[-3000:]
    else:
        assert out.returncode == 0, (out.stdout + out.stderr)[-3000:]
    return out


def losses(work_dir):
    data = json.load(open(osp.join(work_dir, 'rank0_losses.json')))
    return {int(k): v for k, v in data.items()}


def kill_and_resume(config, tmp_path, kill_hook, check_killed=None):
    """The uninterrupted run's and the resumed run's losses per iteration, and the work dir of
    the run killed by ``kill_hook`` (checked by ``check_killed(work_dir)``) and resumed."""
    full, cut = tmp_path / 'full', tmp_path / 'cut'
    train(config, full)
    killing = write_config(tmp_path / 'killed.py', str(config), {'custom_hooks': [
        dict(type='mmkd.DumpRankStateHook'), kill_hook]})
    train(killing, cut, killed=True)
    if check_killed is not None:
        check_killed(cut)
    train(config, cut, '--resume')
    return losses(full), losses(cut), cut


def killed_during_the_epoch_2_write(work_dir):
    """epoch_2.pth is half written (as .part), and the epoch-1 checkpoint is still there and
    named latest (max_keep_ckpts=1 would have removed it after a finished write)."""
    assert osp.isfile(str(work_dir / 'epoch_2.pth.part'))
    latest = open(work_dir / 'last_checkpoint').read().strip()
    assert osp.basename(latest) == 'epoch_1.pth'
    assert torch.load(latest, weights_only=True)['meta']['epoch'] == 1
    assert not osp.isfile(str(work_dir / 'epoch_2.pth'))


def test_detection_resume_after_a_kill_during_a_checkpoint_write(demo_data, teacher_ckpt,
                                                                 tmp_path):
    """2 epochs of 4 iterations, random flips on, max_keep_ckpts=1. The kill comes while
    epoch_2.pth is half written: epoch_1.pth is still there and named latest; resumed from it,
    iterations 5..8 repeat the uninterrupted run's losses, and the run ends with epoch_2.pth
    alone."""
    opts = data_options(demo_data, epochs=2)
    opts.update({'model.teacher.checkpoint': teacher_ckpt,
                 'randomness': dict(seed=0, deterministic=True),
                 'default_hooks.checkpoint.max_keep_ckpts': 1,
                 'custom_hooks': [dict(type='mmkd.DumpRankStateHook')],
                 'custom_imports': PROBES, 'train_cfg.val_interval': 10})
    config = write_config(tmp_path / 'cfg.py', DISTILL_CFG, opts)
    full, resumed, cut = kill_and_resume(
        config, tmp_path, dict(type='mmkd.KillDuringSaveHook', marker='epoch_2'),
        killed_during_the_epoch_2_write)
    assert sorted(full) == list(range(1, 9)) and sorted(resumed) == [5, 6, 7, 8]
    for it in (5, 6, 7, 8):
        for key in ('loss', 'loss_cls', 'loss_kd_hint', 'loss_kd_cls_pos'):
            assert resumed[it][key] == pytest.approx(full[it][key], rel=1e-6, abs=1e-9), \
                (it, key)
    # the flips of epoch 2 differ from epoch 1's: a resume that restarted the random state
    # would have repeated them (checked through the loss, which depends on the flips)
    assert full[5]['loss'] != full[1]['loss']
    assert torch.load(cut / 'epoch_2.pth', weights_only=True)['meta']['epoch'] == 2
    assert not osp.isfile(str(cut / 'epoch_1.pth'))
    assert not osp.isfile(str(cut / 'epoch_2.pth.part'))


def test_adversarial_segmentation_resume_is_exact(demo_data, seg_teacher_ckpt, tmp_path):
    """SKD for 4 iterations, checkpoints every 2; killed at iteration 3: iterations 3 and 4
    repeat, the discriminator's losses included."""
    opts = seg_data_options(demo_data, iters=4)
    opts.update({'model.teacher.checkpoint': seg_teacher_ckpt,
                 'randomness': dict(seed=0, deterministic=True),
                 'default_hooks.checkpoint.interval': 2,
                 'custom_hooks': [dict(type='mmkd.DumpRankStateHook')],
                 'custom_imports': PROBES, 'train_cfg.val_interval': 10})
    config = write_config(tmp_path / 'cfg.py', SKD_CFG, opts)
    full, resumed, _ = kill_and_resume(
        config, tmp_path, dict(type='mmkd.KillAtIterationHook', iteration=3))
    assert sorted(resumed) == [3, 4]
    for it in (3, 4):
        for key in ('loss', 'loss_kd_pixel', 'loss_kd_holistic', 'loss_disc', 'disc_gp'):
            assert resumed[it][key] == pytest.approx(full[it][key], rel=1e-6, abs=1e-9), \
                (it, key)
