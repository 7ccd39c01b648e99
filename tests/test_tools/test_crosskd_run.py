"""A few iterations of CrossKD on the demo GFL pair through tools/train.py on the tiny demo data,
with a randomly initialised GFL teacher: the cross-head terms train the student and the adapters
and leave the teacher's weights as they were."""
import os.path as osp

import pytest
import torch

from tests.helpers import train_with_random_teacher

pytestmark = pytest.mark.heavy  # trains through the tools

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CROSSKD = osp.join(ROOT, 'configs/crosskd/crosskd_gfl-r18-narrow_gfl-r18_48e_mmkd-demo-student.py')


def test_crosskd_trains_the_student_through_the_frozen_teacher_head(demo_data, tmp_path):
    runner, teacher = train_with_random_teacher(CROSSKD, demo_data, tmp_path)
    assert runner.iter == len(runner.train_dataloader) > 0  # one epoch
    hub = runner.message_hub
    for name in ('cross_cls', 'cross_reg'):
        value = hub.get_scalar(f'train/loss_kd_{name}').current()
        assert value == value and value > 0, name
    model = runner.model
    # the teacher's head is on the graph of both terms but its weights did not move
    for key, value in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], value), key
    # the adapters (32 -> 128 channels) are saved with the run (their gradient: test_cross_head.py)
    saved = torch.load(osp.join(tmp_path, 'work', 'epoch_1.pth'), map_location='cpu',
                       weights_only=True)['state_dict']
    adapter = model.cross_head.adapters['cls'].weight
    assert adapter.shape == (128, 32, 1, 1)
    assert torch.equal(saved['cross_head.adapters.cls.weight'], adapter.detach())
