import os
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

# The 12-epoch demo pair the method configs build on is the one the tests run (the demo's own
# pair, tools.demo.TEACHER / STUDENT / DISTILL, inherits it and only changes the schedule and
# the student's split).
from tools.demo import CONFIGS  # noqa: E402

TEACHER_CFG = osp.join(CONFIGS, 'retinanet_r18_fpn_12e_mmkd-demo.py')
STUDENT_CFG = osp.join(CONFIGS, 'retinanet_r18-narrow_fpn_12e_mmkd-demo.py')
DISTILL_CFG = osp.join(CONFIGS, 'hint-poskd_retinanet-r18_retinanet-r18-narrow_12e_mmkd-demo.py')

torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope='module', autouse=True)
def _restore_default_scope():
    """A runner leaves its default scope (mmdet / mmseg) current for the whole process; tests in
    later modules that build models by name must not depend on which runs came before."""
    from mmengine.registry import DefaultScope
    before = set(DefaultScope._instance_dict)
    yield
    for name in set(DefaultScope._instance_dict) - before:
        del DefaultScope._instance_dict[name]


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    """A tiny copy of the demo dataset: 16 train and 8 val images; the student splits are the
    first 8 train images (detection) and the first 4 (segmentation)."""
    from tools.dataset.make_demo_data import build
    out = str(tmp_path_factory.mktemp('mmkd_demo'))
    build(out, num_train=16, num_val=8, student_images=8, seg_student_images=4, progress=False)
    return out


def data_options(data_root, epochs=1, batch_size=4):
    """--cfg-options that point a demo config at ``data_root`` and shorten its schedule."""
    root = data_root.rstrip('/') + '/'
    ann = root + 'annotations/instances_val.json'
    return {
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'val_evaluator.ann_file': ann,
        'test_evaluator.ann_file': ann,
        'train_dataloader.batch_size': batch_size,
        'train_cfg.max_epochs': epochs,
        'train_cfg.val_interval': epochs,
        'param_scheduler': [dict(type='ConstantLR', factor=1.0, by_epoch=False)],
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': 1,
        'default_hooks.checkpoint.max_keep_ckpts': 5,
    }


@pytest.fixture(scope='session')
def teacher_ckpt(tmp_path_factory):
    """A teacher checkpoint: the demo teacher's randomly initialised weights (seeded)."""
    import mmkd  # noqa: F401
    from mmengine.config import Config
    from mmkd.models.distillers.base import build_model
    torch.manual_seed(0)
    cfg = Config.fromfile(TEACHER_CFG)
    model = build_model(cfg.model, 'mmdet')
    path = str(tmp_path_factory.mktemp('teacher') / 'teacher.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def write_config(path, base, overrides):
    """Writes a config file that inherits ``base`` and sets ``overrides`` ({dotted.key: value}),
    the way a user derives a config."""
    nested = {}
    for key, value in overrides.items():
        *parents, leaf = key.split('.')
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    lines = [f'_base_ = [{base!r}]']
    lines += [f'{key} = {value!r}' for key, value in nested.items()]
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    return str(path)


_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SEG_TEACHER_CFG = osp.join(_ROOT, 'configs/demo/pspnet_r18-w32-d8_1.5k_mmkd-demo.py')
SKD_CFG = osp.join(_ROOT, 'configs/skd/skd_pspnet-r18-w32_pspnet-r18-w16_0.8k_mmkd-demo.py')


@pytest.fixture(scope='session')
def seg_teacher_ckpt(tmp_path_factory):
    """A segmentation teacher checkpoint: the demo PSPNet teacher's random weights (seeded)."""
    import mmkd  # noqa: F401
    from mmengine.config import Config
    from mmkd.models.distillers.base import build_model
    torch.manual_seed(0)
    model = build_model(Config.fromfile(SEG_TEACHER_CFG).model, 'mmseg')
    path = str(tmp_path_factory.mktemp('seg_teacher') / 'teacher.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def seg_data_options(data_root, iters=2, batch_size=2):
    """--cfg-options that point a demo segmentation config at ``data_root`` and shorten its
    schedule to ``iters`` iterations with a constant learning rate."""
    root = data_root.rstrip('/') + '/'
    return {
        'train_dataloader.dataset.data_root': root,
        'val_dataloader.dataset.data_root': root,
        'test_dataloader.dataset.data_root': root,
        'train_dataloader.batch_size': batch_size,
        'train_cfg.max_iters': iters,
        'train_cfg.val_interval': iters,
        'default_hooks.logger.interval': 1,
        'default_hooks.checkpoint.interval': iters,
        'default_hooks.checkpoint.max_keep_ckpts': 5,
    }
