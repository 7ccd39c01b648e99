"""Every config in configs/ builds (pretrained weights off) and runs one training forward on a
tiny batch; a distill config's KD terms all give finite losses."""
import glob
import os.path as osp

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.structures import InstanceData, PixelData
from mmseg.structures import SegDataSample

from mmkd.models.distillers.build import build_model, model_config
from mmkd.registry import MODELS
from tools.analysis.loss_scale import no_pretrained

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
# Chain configs (a list of generations for tools/distill_chain.py, no model) are checked in
# tests/test_tools/test_distill_chain.py.
CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in p and '_chain_' not in osp.basename(p))


def tiny_batch(size=64):
    torch.manual_seed(0)
    inputs = torch.randn(2, 3, size, size)
    samples = []
    for boxes in ([[4.0, 6.0, 40.0, 30.0], [30.0, 30.0, 60.0, 62.0]], []):
        sample = DetDataSample(metainfo=dict(
            img_shape=(size, size), ori_shape=(size, size), pad_shape=(size, size),
            batch_input_shape=(size, size), scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(bboxes=torch.tensor(boxes).reshape(-1, 4),
                                           labels=torch.zeros(len(boxes), dtype=torch.long))
        samples.append(sample)
    return inputs, samples


def tiny_seg_batch(size=64):
    """Two images with label maps: a square of class 1 on background. No ignored pixels: the
    demo segmentors' class-weighted cross-entropy (mmseg 1.2.2) fails on them."""
    torch.manual_seed(0)
    inputs = torch.randn(2, 3, size, size)
    samples = []
    for _ in range(2):
        gt = torch.zeros(1, size, size, dtype=torch.long)
        gt[:, 8:40, 8:40] = 1
        sample = SegDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size),
                                             pad_shape=(size, size)))
        sample.gt_sem_seg = PixelData(data=gt)
        samples.append(sample)
    return inputs, samples


def test_configs_are_found():
    names = {osp.relpath(p, osp.join(ROOT, 'configs')) for p in CONFIGS}
    for folder in ('demo', 'fgd', 'defeat', 'fgfi', 'bounded_reg', 'ld', 'skd', 'cwd'):
        assert any(n.startswith(folder + '/') for n in names), folder


@pytest.mark.heavy
@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_builds_and_runs_one_forward(path, tmp_path):
    cfg = Config.fromfile(path)
    model_cfg = cfg.model
    no_pretrained(model_cfg)
    scope = cfg.get('default_scope', 'mmdet')
    if 'teacher' in model_cfg:
        teacher_cfg, teacher_scope = model_config(model_cfg.teacher.config, 'teacher', scope)
        no_pretrained(teacher_cfg)
        ckpt = str(tmp_path / 'teacher.pth')
        torch.save(build_model(teacher_cfg, teacher_scope).state_dict(), ckpt)
        model_cfg.teacher.checkpoint = ckpt
    with DefaultScope.overwrite_default_scope(scope):
        model = MODELS.build(model_cfg) if {'teacher', 'students'} & set(model_cfg) \
            else build_model(model_cfg, scope)
    model.train()
    # mmcv's deformable conv needs a C5 map of at least its 3 x 3 kernel: 128 px at stride 32;
    # SKD's reference critic needs 64 x 64 logits: 512 px at stride 8
    size = 128 if 'dconv' in str(model_cfg.get('teacher', {}).get('config', '')) else 64
    if 'Reference' in str((model_cfg.get('discriminator') or {}).get('type', '')):
        size = 512
    for term in model_cfg.get('kd_terms', {}).values():
        # Af-DCD's last backbone stage (stride 8), max-pooled, must tile into its patches
        loss = term.get('loss') or {}
        if loss.get('type') == 'mmkd.AfDCDLoss':
            size = max(size, 8 * loss.get('pool', 4) * loss.get('patch', (4,))[0])
    losses = model.loss(*(tiny_seg_batch(size) if scope == 'mmseg' else tiny_batch(size)))
    total, log_vars = model.parse_losses(losses)
    assert torch.isfinite(total), log_vars
    # mutual learning: one set of terms per member, '<member>.loss_kd_<term>'
    kd = [k for k in losses if k.split('.')[-1].startswith('loss_kd_')]
    members = len(model_cfg.get('students', {})) or 1
    assert len(kd) == members * len(model_cfg.get('kd_terms', {}))
    for key in kd:
        assert torch.isfinite(losses[key]), key
        # an adversarial term is -adv_weight * D(S), of either sign; the others are >= 0
        term = key.split('.')[-1][len('loss_kd_'):]
        if not getattr(model.kd_terms[term].loss_module, 'adversarial', False):
            assert losses[key].item() >= 0, key


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_distill_configs_carry_what_runs(path):
    """Read by MMEngine alone (as mmdet's / mmseg's tools/train.py and mim read it), every
    distill config names mmkd's checkpoint hook, its DDP wrapper and the import that registers
    them: nothing depends on which tool starts it."""
    cfg = Config.fromfile(path)
    if 'Distiller' not in cfg.model.type:
        pytest.skip('not a distill config')
    assert cfg.default_hooks.checkpoint.type == 'mmkd.SafeCheckpointHook'
    assert cfg.model_wrapper_cfg.type == 'mmkd.KDDistributedDataParallel'
    assert 'mmkd' in cfg.custom_imports.imports
