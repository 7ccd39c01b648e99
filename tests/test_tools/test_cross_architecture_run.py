"""A few iterations of PKD from the Swin demo teacher (random weights) to the ResNet-18 demo
student through tools/train.py on the tiny demo data: the term's loss is logged, its
adapters are saved, and the Swin teacher's weights stay as they were."""
import os.path as osp

import pytest
import torch

from tests.helpers import train_with_random_teacher

pytestmark = pytest.mark.heavy  # trains through the tools

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PKD_SWIN = osp.join(
    ROOT, 'configs/pkd/pkd_retinanet-r18-narrow_retinanet-swin-tiny_48e_mmkd-demo-student.py')


def test_pkd_from_a_swin_teacher_trains_the_resnet_student(demo_data, tmp_path):
    runner, teacher = train_with_random_teacher(PKD_SWIN, demo_data, tmp_path)
    assert type(teacher.backbone).__name__ == 'SwinTransformer'
    assert runner.iter == len(runner.train_dataloader) > 0  # one epoch
    value = runner.message_hub.get_scalar('train/loss_kd_pkd').current()
    assert value == value and value > 0
    model = runner.model
    for key, tensor in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], tensor), key
    # the 32 -> 128 adapters (one per level read) are saved with the run
    saved = torch.load(osp.join(tmp_path, 'work', 'epoch_1.pth'), map_location='cpu',
                       weights_only=True)['state_dict']
    for lv in range(4):
        adapter = model.kd_terms['pkd'].adapters['neck'][lv].conv.weight
        assert adapter.shape == (128, 32, 1, 1)
        assert torch.equal(saved[f'kd_terms.pkd.adapters.neck.{lv}.conv.weight'],
                           adapter.detach())
