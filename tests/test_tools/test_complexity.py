"""tools/analysis/complexity.py: the teacher's and the student's parameters and FLOPs are those of
the config's two models at the test pipeline's size; a checkpoint of another model is named."""
import pytest
import torch
from mmengine.config import Config

from mmkd.models.distillers.build import build_model
from tests.helpers import DISTILL_CFG, STUDENT_CFG, TEACHER_CFG
from tools.analysis import complexity


def options(demo_data):
    return ['--cfg-options', f'test_dataloader.dataset.data_root={demo_data}/']


def conv_macs(model, inputs, forward=None):
    """Multiply-adds of every convolution of ``model``'s tensor forward, by hand: each output
    value of a k x k conv over C_in / groups channels costs C_in / groups * k * k of them."""
    total = []

    def hook(module, args, out):
        k_h, k_w = module.kernel_size
        total.append(out.numel() * module.in_channels // module.groups * k_h * k_w)
    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        forward(inputs) if forward else model(inputs, mode='tensor')
    for h in handles:
        h.remove()
    return sum(total)


def test_teacher_and_student_of_the_demo_pair(demo_data, capsys):
    report = complexity.main([DISTILL_CFG, '--images', '2', '--repeats', '1']
                             + options(demo_data))
    assert list(report) == ['teacher', 'student']
    for role, cfg in (('teacher', TEACHER_CFG), ('student', STUDENT_CFG)):
        model = build_model(Config.fromfile(cfg).model, 'mmdet').eval()
        row = report[role]
        assert row['params'] == sum(p.numel() for p in model.parameters()), role
        assert row['input_shape'] == (160, 160) and row['same_shape']  # the test Resize
        inputs = torch.zeros(1, 3, *row['input_shape'])
        assert row['flops_by_operator']['conv'] == conv_macs(model, inputs), role
        assert row['trained'] is False
    out = capsys.readouterr().out
    t, s = report['teacher'], report['student']
    ratios = next(line for line in out.splitlines() if line.startswith('| student / teacher'))
    assert f"{s['params'] / t['params']:.3f}" in ratios
    assert f"{s['flops'] / t['flops']:.3f}" in ratios
    assert 'random weights' in out


def test_a_teacher_checkpoint_of_another_model_is_named(demo_data, tmp_path):
    student = build_model(Config.fromfile(STUDENT_CFG).model, 'mmdet')
    path = str(tmp_path / 'student.pth')
    torch.save(dict(state_dict=student.state_dict()), path)
    with pytest.raises(ValueError, match='does not match'):
        complexity.main([DISTILL_CFG, '--images', '1', '--repeats', '1',
                         '--teacher-checkpoint', path] + options(demo_data))


def test_image_size_reaches_the_model_at_the_configs_test_size(demo_data):
    """--image-size 640 480 on a COCO config: mmdet's test Resize (1333, 800, keep ratio) scales
    a 640 x 480 image by min(1333 / 640, 800 / 480) = 5 / 3, to 1067 x 800 (rounded)."""
    cfg = Config.fromfile('configs/cwd/cwd-fpn_retinanet-r50_retinanet-r101_1x_coco.py')
    from tools.analysis.loss_scale import use_demo_data
    use_demo_data(cfg, 'test_dataloader')
    cfg.test_dataloader.dataset.data_root = demo_data + '/'
    complexity.resize_on_load(cfg, 640, 480)
    (batch,) = complexity.test_batches(cfg, 1)
    assert tuple(batch['inputs'][0].shape) == (3, 800, 1067)
    assert batch['data_samples'][0].img_shape == (800, 1067)
    cfg.test_dataloader.dataset.pipeline = [dict(type='PackDetInputs')]
    with pytest.raises(ValueError, match='no LoadImageFromFile'):
        complexity.resize_on_load(cfg, 640, 480)


def test_a_two_stage_pair_is_measured(demo_data):
    """Faster R-CNN's tensor forward needs the data samples (its RPN proposals): the student's
    convolution FLOPs are at least those of its backbone and neck, counted by hand."""
    cfg = Config.fromfile('configs/fgfi/fgfi_faster-rcnn-r50_faster-rcnn-r101_1x_coco.py')
    from tools.analysis.loss_scale import use_demo_data
    use_demo_data(cfg, 'test_dataloader')
    dataset = cfg.test_dataloader.dataset
    dataset.data_root = demo_data + '/'
    for step in dataset.pipeline:  # the demo images' own size, to keep the test small
        if step['type'] == 'Resize':
            step['scale'] = (160, 160)
    report = complexity.measure(cfg, images=1, repeats=1, pretrained=False)
    student = build_model(cfg.model.student, 'mmdet').eval()
    inputs = torch.zeros(1, 3, *report['student']['input_shape'])
    by_hand = conv_macs(student, inputs, forward=student.extract_feat)  # backbone and neck
    assert report['student']['input_shape'] == (160, 160)
    assert report['student']['flops_by_operator']['conv'] > by_hand
    assert report['teacher']['flops'] > report['student']['flops']
