"""Deep mutual learning through the tools: one tools/train.py run trains both members, validates
each, and tools/test.py / export_student.py take either member on its own."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tests.helpers import data_options, write_config
from tools import export_student as export_tool
from tools import test as test_tool
from tools import train as train_tool

pytestmark = pytest.mark.heavy  # trains through the tools

DML_CFG = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))),
                   'configs/dml/dml_retinanet-r18-narrow_retinanet-r18-narrow_12e_mmkd-demo.py')


@pytest.fixture(scope='module')
def dml_run(demo_data, tmp_path_factory):
    """One epoch (4 iterations of 4 images) of the demo DML config."""
    work_dir = tmp_path_factory.mktemp('dml')
    opts = data_options(demo_data)
    opts['visualizer'] = dict(type='DetLocalVisualizer', name='dml_run_vis',
                              vis_backends=[dict(type='LocalVisBackend')])
    opts['custom_hooks'] = [dict(type='mmkd.StudentCheckpointHook')]
    config = write_config(work_dir / 'dml.py', DML_CFG, opts)
    runner = train_tool.main([config, '--work-dir', str(work_dir)])
    return str(work_dir), config, runner


def test_both_members_train_and_are_validated(dml_run):
    work_dir, _, runner = dml_run
    hub = runner.message_hub
    for member in ('student1', 'student2'):
        for key in ('loss_cls', 'loss_bbox', 'loss_kd_cls_pos'):
            assert hub.get_scalar(f'train/{member}.{key}').current() > 0
        # validated on its own (its value against tools/test.py --member: the next test)
        assert f'val/{member}/coco/bbox_mAP' in hub.log_scalars
    # the unprefixed metric is the first member's
    assert hub.get_scalar('val/coco/bbox_mAP').current() == \
        hub.get_scalar('val/student1/coco/bbox_mAP').current()
    state = torch.load(osp.join(work_dir, 'epoch_1.pth'), weights_only=True)['state_dict']
    assert {k.split('.')[0] for k in state} == {'student1', 'student2'}
    # one optimizer each, both stepped
    optim = torch.load(osp.join(work_dir, 'epoch_1.pth'), weights_only=True)['optimizer']
    assert sorted(optim) == ['student1', 'student2']


def test_each_member_tests_and_exports_on_its_own(dml_run, tmp_path):
    """tools/test.py --member student2 on the checkpoint evaluates the same weights on the same
    images as the final validation: the same mAP. The export holds exactly student2's weights
    and loads in a plain mmdet runner config."""
    work_dir, config, runner = dml_run
    ckpt = osp.join(work_dir, 'epoch_1.pth')
    metrics = test_tool.main([config, ckpt, '--member', 'student2', '--work-dir',
                              str(tmp_path / 'test')])
    assert metrics['coco/bbox_mAP'] == pytest.approx(
        runner.message_hub.get_scalar('val/student2/coco/bbox_mAP').current())
    export_tool.main([config, ckpt, str(tmp_path / 'export'), '--member', 'student2'])
    exported = torch.load(tmp_path / 'export' / 'student2.pth', weights_only=True)['state_dict']
    state = torch.load(ckpt, weights_only=True)['state_dict']
    member = {k[len('student2.'):]: v for k, v in state.items() if k.startswith('student2.')}
    assert exported.keys() == member.keys()
    assert all(torch.equal(exported[k], member[k]) for k in member)
    beside = torch.load(osp.join(work_dir, 'epoch_1_student2.pth'),
                        weights_only=True)['state_dict']  # StudentCheckpointHook, per member
    assert all(torch.equal(beside[k], member[k]) for k in member)
    assert osp.isfile(osp.join(work_dir, 'epoch_1_student1.pth'))
    assert Config.fromfile(osp.join(work_dir, 'student2_config.py')).model.type == 'RetinaNet'
    plain = Config.fromfile(tmp_path / 'export' / 'student2_config.py')
    assert plain.model.type == 'RetinaNet' and plain.val_cfg.type == 'ValLoop'
    assert plain.test_cfg.type == 'TestLoop'
    with pytest.raises(ValueError, match="members are \\['student1', 'student2'\\]"):
        test_tool.main([config, ckpt, '--member', 'student3'])
