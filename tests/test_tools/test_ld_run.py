"""A few iterations of LD's full method (main region, VLR, classification KD) on the demo GFL pair
through tools/train.py on the tiny demo data, with a randomly initialised GFL teacher."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from mmkd.models.distillers.build import build_model
from tests.helpers import data_options, write_config
from tools import test as test_tool
from tools import train as train_tool

pytestmark = pytest.mark.heavy  # trains through the tools

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
LD_FULL = osp.join(ROOT, 'configs/ld/ld-full_gfl-r18-narrow_gfl-r18_12e_mmkd-demo.py')


def test_ld_full_method_trains(demo_data, tmp_path):
    cfg = Config.fromfile(LD_FULL)
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(build_model(Config.fromfile(cfg.model.teacher.config).model, 'mmdet').state_dict(),
               ckpt)
    options = data_options(demo_data)
    options['model.teacher.checkpoint'] = ckpt
    config = write_config(tmp_path / 'cfg.py', LD_FULL, options)
    runner = train_tool.main([config, '--work-dir', str(tmp_path / 'work')])
    assert runner.iter == 4
    hub = runner.message_hub
    for name in ('ld', 'ld_vlr', 'cls_kd'):
        value = hub.get_scalar(f'train/loss_kd_{name}').current()
        assert value == value and value > 0, name
    # the validation after training scored the weights saved in epoch_1.pth: tools/test.py on
    # that checkpoint gives the same mAP
    metrics = test_tool.main([config, str(tmp_path / 'work' / 'epoch_1.pth'), '--work-dir',
                              str(tmp_path / 'test')])
    assert metrics['coco/bbox_mAP'] == pytest.approx(hub.get_scalar('val/coco/bbox_mAP').current())
