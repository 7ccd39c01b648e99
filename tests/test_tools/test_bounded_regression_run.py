"""A few iterations of Chen et al.'s full method on a small Faster R-CNN through tools/train.py
(MMEngine's runner) on the tiny demo data: every part on, every part logged."""
import math

import pytest
import torch

from mmkd.models.distillers.build import build_model
from tests.helpers import RCNN_TERMS, STUDENT_CFG, data_options, tiny_faster_rcnn, write_config
from tools import test as test_tool
from tools import train as train_tool

pytestmark = pytest.mark.heavy  # trains through the tools


def test_full_method_on_faster_rcnn_trains(demo_data, tmp_path):
    student = tiny_faster_rcnn().to_dict()
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(build_model(tiny_faster_rcnn(), 'mmdet').state_dict(), ckpt)
    options = data_options(demo_data)
    options['model'] = dict(_delete_=True, type='mmkd.DetectionDistiller', student=student,
                            teacher=dict(config=student, checkpoint=ckpt), kd_terms=RCNN_TERMS)
    options['train_dataloader.batch_size'] = 8
    config = write_config(tmp_path / 'cfg.py', STUDENT_CFG, options)
    runner = train_tool.main([config, '--work-dir', str(tmp_path / 'work')])
    assert runner.iter == 2
    hub = runner.message_hub
    for name in RCNN_TERMS:
        value = hub.get_scalar(f'train/loss_kd_{name}').current()
        assert math.isfinite(value), name  # logged, neither NaN nor infinite
    assert hub.get_scalar('train/loss_kd_rcnn_soft').current() > 0
    assert hub.get_scalar('train/loss_kd_rpn_soft').current() > 0
    # the validation after training scored the weights saved in epoch_1.pth: tools/test.py on
    # that checkpoint gives the same mAP
    metrics = test_tool.main([config, str(tmp_path / 'work' / 'epoch_1.pth'), '--work-dir',
                              str(tmp_path / 'test')])
    assert metrics['coco/bbox_mAP'] == pytest.approx(hub.get_scalar('val/coco/bbox_mAP').current())
