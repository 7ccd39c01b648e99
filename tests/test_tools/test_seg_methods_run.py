"""Two iterations of each segmentation method's demo config of issue 21 (CIRKD, Af-DCD, MGD,
the canonical baseline, the latter also from the SegFormer demo teacher) through tools/train.py
on the tiny demo data, with a random teacher: every KD term's loss is logged and positive, what
the method trains beside the student is saved with the run, and the teacher's weights stay as
they were."""
import math
import os.path as osp

import pytest
import torch

from tests.helpers import train_with_random_teacher

pytestmark = pytest.mark.heavy  # trains through the tools

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PAIR = 'pspnet-r18-w8_pspnet-r18-w16_1.6k_mmkd-demo-student.py'
SEGFORMER_PAIR = 'pspnet-r18-w8_segformer-mit-tiny_1.6k_mmkd-demo-student.py'
CASES = {
    # config: (its KD terms, a state-dict key of what trains beside the student)
    f'configs/cirkd/cirkd_{PAIR}': (('kd', 'cirkd_minibatch', 'cirkd_memory'),
                                    'kd_terms.cirkd_memory.loss.project.0.weight'),
    f'configs/af_dcd/af-dcd_{PAIR}': (('kd', 'af_dcd'), 'kd_terms.af_dcd.loss.0.align.weight'),
    f'configs/mgd/mgd_{PAIR}': (('mgd', 'cwd'), 'kd_terms.mgd.loss.0.generation.0.weight'),
    f'configs/canonical_kd/canonical-kd_{PAIR}': (('kd', 'feat'),
                                                   'kd_terms.feat.adapters.backbone.0.conv.weight'),
    # a SegFormer teacher for the ResNet student: logits resized, the last stages paired
    f'configs/canonical_kd/canonical-kd_{SEGFORMER_PAIR}': (
        ('kd', 'feat'), 'kd_terms.feat.adapters.backbone.0.conv.weight'),
}


@pytest.mark.parametrize('config', sorted(CASES))
def test_segmentation_method_trains_through_the_tool(config, demo_data, tmp_path):
    terms, trained_key = CASES[config]
    runner, teacher = train_with_random_teacher(osp.join(ROOT, config), demo_data, tmp_path,
                                                scope='mmseg', iters=2)
    assert runner.iter == 2
    model = runner.model
    assert sorted(model.kd_terms) == sorted(terms)
    for name in terms:
        value = runner.message_hub.get_scalar(f'train/loss_kd_{name}').current()
        assert math.isfinite(value) and value > 0, name
    for key, tensor in teacher.state_dict().items():
        assert torch.equal(model.teacher.state_dict()[key], tensor), key
    saved = torch.load(osp.join(tmp_path, 'work', 'iter_2.pth'), map_location='cpu',
                       weights_only=True)['state_dict']
    assert torch.equal(saved[trained_key], model.state_dict()[trained_key])
    if 'cirkd_memory' in terms:
        # the memories went on from the batches: each of the 2 steps wrote a region of every
        # class of each of its 2 images (at least one class each)
        memory = model.kd_terms['cirkd_memory'].loss
        assert int(memory.region_memory.ptr.sum()) >= 2 * 2
        assert torch.equal(saved['kd_terms.cirkd_memory.loss.region_memory.queue'],
                           memory.region_memory.queue)
