"""Two CPU processes (gloo) through tools/dist_train.sh (torchrun, MMEngine's launcher and DDP)
against one process with the same images."""
import json
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch

from tests.helpers import DISTILL_CFG, SKD_CFG, data_options, seg_data_options, write_config

pytestmark = pytest.mark.heavy  # trains through the tools

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# no random flip: the two runs must see the same images
DET_PIPELINE = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(160, 160), keep_ratio=True),
    dict(type='PackDetInputs'),
]


def run(cmd, work_dir, port):
    env = dict(os.environ, PYTHON=sys.executable, PORT=str(port), OMP_NUM_THREADS='1',
               PYTHONPATH=ROOT)
    out = subprocess.run(cmd + ['--work-dir', str(work_dir)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, (out.stdout + out.stderr)[-4000:]
    return out


def rank_losses(work_dir, rank):
    """{iteration: {loss name: value}} of one process (tests/run_probes.py)."""
    losses = json.load(open(osp.join(work_dir, f'rank{rank}_losses.json')))
    return {int(k): v for k, v in losses.items()}


def mean_losses(work_dir, ranks=(0, 1)):
    """The losses of each iteration, averaged over the processes."""
    per_rank = [rank_losses(work_dir, r) for r in ranks]
    return {i: {k: sum(p[i][k] for p in per_rank) / len(ranks) for k in per_rank[0][i]}
            for i in per_rank[0]}


@pytest.fixture(scope='module')
def det_runs(demo_data, teacher_ckpt, tmp_path_factory):
    """One epoch of the demo distill config on the 16 tiny images (4 iterations): 2 processes x
    2 images and 1 process x 4 images. The student's backbone BatchNorm uses its running
    statistics (norm_eval), so every image's forward is independent of the others in its
    batch."""
    tmp = tmp_path_factory.mktemp('ddp_det')
    opts = data_options(demo_data, epochs=1, batch_size=2)
    opts.update({'model.teacher.checkpoint': teacher_ckpt,
                 'model.student.backbone.norm_eval': True,
                 'train_dataloader.dataset.pipeline': DET_PIPELINE,
                 'train_cfg.val_interval': 100,
                 'custom_hooks': [dict(type='mmkd.DumpRankStateHook')],
                 'custom_imports': dict(imports=['tests.run_probes'],
                                        allow_failed_imports=False)})
    config = write_config(tmp / 'cfg.py', DISTILL_CFG, opts)
    two = tmp / 'two'
    run(['bash', 'tools/dist_train.sh', config, '2'], two, 29511)
    one = tmp / 'one'
    run([sys.executable, 'tools/train.py', config, '--cfg-options',
         'train_dataloader.batch_size=4'], one, 29512)
    return two, one


def test_two_processes_match_one_with_the_same_images(det_runs):
    two, one = det_runs
    l2, l1 = mean_losses(two), rank_losses(one, 0)
    assert sorted(l2) == sorted(l1) == [1, 2, 3, 4]
    # The hint is a mean over the batch's elements: the mean of the two processes' means is the
    # mean over the 4 images, exactly (up to float summation order).
    assert l2[1]['loss_kd_hint'] == pytest.approx(l1[1]['loss_kd_hint'], rel=1e-4)
    # The focal and positive-logit losses are normalised by each process's own positives, so
    # they differ by how the positives split; stated tolerance 10 %.
    for key in ('loss_cls', 'loss_bbox', 'loss_kd_cls_pos', 'loss'):
        assert l2[1][key] == pytest.approx(l1[1][key], rel=0.1), key
    # after one step with DDP-averaged gradients, the second iteration still agrees
    assert l2[2]['loss'] == pytest.approx(l1[2]['loss'], rel=0.1)


def test_processes_end_with_the_same_weights_and_rank0_writes_checkpoints(det_runs):
    two, _ = det_runs
    states = [torch.load(osp.join(two, f'rank{r}_state.pth'), weights_only=True)
              for r in (0, 1)]
    for key, value in states[0].items():
        if value.is_floating_point():
            assert torch.equal(value, states[1][key]), key
    assert not [k for k in states[0] if k.startswith('teacher.')]
    ckpt = torch.load(osp.join(two, 'epoch_1.pth'), weights_only=False)
    assert torch.equal(ckpt['state_dict']['student.bbox_head.retina_cls.weight'],
                       states[0]['student.bbox_head.retina_cls.weight'])


def test_adversarial_segmentation_under_ddp(demo_data, seg_teacher_ckpt, tmp_path):
    """SKD (the discriminator with its own optimizer) for 2 iterations in 2 processes: the
    discriminator, which DDP does not sync, ends equal in both, as does the student."""
    opts = seg_data_options(demo_data, iters=2, batch_size=2)
    opts.update({'model.teacher.checkpoint': seg_teacher_ckpt,
                 'train_cfg.val_interval': 100,
                 'custom_hooks': [dict(type='mmkd.DumpRankStateHook')],
                 'custom_imports': dict(imports=['tests.run_probes'],
                                        allow_failed_imports=False)})
    config = write_config(tmp_path / 'cfg.py', SKD_CFG, opts)
    run(['bash', 'tools/dist_train.sh', config, '2'], tmp_path / 'run', 29513)
    states = [torch.load(osp.join(tmp_path, 'run', f'rank{r}_state.pth'), weights_only=True)
              for r in (0, 1)]
    disc = [k for k in states[0] if k.startswith('discriminator.')]
    assert disc
    for key, value in states[0].items():
        # BatchNorm statistics are each process's own (BN, not SyncBN, on CPU)
        if value.is_floating_point() and 'running_' not in key:
            assert torch.equal(value, states[1][key]), key
    losses = mean_losses(tmp_path / 'run')
    assert all(torch.isfinite(torch.tensor(losses[i]['loss_disc'])) for i in (1, 2))
