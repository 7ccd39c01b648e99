"""The teacher's memory layout (``model.teacher.channels_last``): channels-last gives the
knowledge of the default layout within float rounding, mmcv's compiled ops (which read their
inputs as contiguous without checking) keep working, and bad values are named."""
import pytest
import torch
from mmcv.ops import DeformConv2dPack, roi_align
from mmdet.registry import MODELS

from mmkd.models.distillers.build import build_model
from mmkd.models.distillers.teacher import to_channels_last
from mmkd.structures.instances import box_features
from tests.helpers import batch, distill_model_cfg, tiny_faster_rcnn

CHANNELS_LAST = torch.channels_last


def close(a, b):
    return torch.allclose(a, b, rtol=1e-4, atol=1e-5)


def test_detection_teacher_is_channels_last_by_default_with_the_same_knowledge(teacher_ckpt):
    models = {}
    for layout in (None, False):
        cfg = distill_model_cfg(teacher_ckpt)
        cfg.teacher.channels_last = layout
        models[layout] = MODELS.build(cfg)
    default, contiguous = models[None], models[False]
    conv = default.teacher.backbone.conv1.weight
    assert conv.is_contiguous(memory_format=CHANNELS_LAST) and not conv.is_contiguous()
    assert contiguous.teacher.backbone.conv1.weight.is_contiguous()
    inputs, _ = batch()
    a, b = default.teacher_knowledge(inputs), contiguous.teacher_knowledge(inputs)
    assert set(a) == set(b) >= {'t_neck', 't_cls_scores'}
    assert a['t_neck'][0].is_contiguous(memory_format=CHANNELS_LAST)
    for name in ('t_neck', 't_cls_scores'):
        assert all(close(x, y) for x, y in zip(a[name], b[name])), name


def test_roi_align_of_a_channels_last_map():
    """mmcv's RoIAlign reads a channels-last map as if it were contiguous: ``box_features``
    gives it a contiguous one, so the layout does not change the pooled rows."""
    torch.manual_seed(0)
    feats = torch.randn(2, 8, 16, 16)
    rois = torch.tensor([[0, 2., 2., 40., 50.], [1, 10., 4., 60., 30.]])
    raw = roi_align(feats.contiguous(memory_format=CHANNELS_LAST), rois, (3, 3), 0.25, 0,
                    'avg', True)
    expected = roi_align(feats, rois, (3, 3), 0.25, 0, 'avg', True)
    assert not torch.allclose(raw, expected)  # the trap the contiguous copy avoids
    boxes = [rois[:1, 1:], rois[1:, 1:]]
    for layout in (torch.contiguous_format, CHANNELS_LAST):
        got = box_features(feats.contiguous(memory_format=layout), boxes, (64, 64), size=3)
        assert torch.equal(got, expected)


def test_two_stage_teacher_box_head_channels_last():
    """The RoI extractor of a Faster R-CNN teacher is mmcv's RoIAlign: on a channels-last
    teacher it stays contiguous and gets contiguous maps, so the box head's outputs are those
    of the default layout."""
    torch.manual_seed(0)
    teacher = build_model(tiny_faster_rcnn(), 'mmdet').eval()
    reference = build_model(tiny_faster_rcnn(), 'mmdet').eval()
    reference.load_state_dict(teacher.state_dict())
    kept = to_channels_last(teacher)
    assert kept == ['roi_head.bbox_roi_extractor.roi_layers.0',
                    'roi_head.bbox_roi_extractor.roi_layers.1',
                    'roi_head.bbox_roi_extractor.roi_layers.2',
                    'roi_head.bbox_roi_extractor.roi_layers.3']
    inputs = torch.randn(2, 3, 64, 64)
    rois = torch.tensor([[0, 4., 4., 30., 30.], [0, 10., 8., 60., 40.], [1, 20., 10., 60., 50.]])
    with torch.no_grad():
        got = teacher.roi_head._bbox_forward(
            teacher.extract_feat(inputs.contiguous(memory_format=CHANNELS_LAST)), rois)
        expected = reference.roi_head._bbox_forward(reference.extract_feat(inputs), rois)
    for key in ('bbox_feats', 'cls_score', 'bbox_pred'):
        assert close(got[key], expected[key]), key


def test_deformable_convolution_keeps_contiguous_weights_and_inputs():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1),
                                DeformConv2dPack(8, 8, 3, padding=1),
                                torch.nn.Conv2d(8, 4, 1)).eval()
    x = torch.randn(2, 3, 12, 12)
    with torch.no_grad():
        expected = model(x)
        assert to_channels_last(model) == ['1']
        got = model(x.contiguous(memory_format=CHANNELS_LAST))
    assert model[0].weight.is_contiguous(memory_format=CHANNELS_LAST)
    assert model[1].weight.is_contiguous() and model[1].conv_offset.weight.is_contiguous()
    assert close(got, expected)


def test_segmentation_teacher_is_contiguous_by_default(seg_teacher_ckpt):
    from mmseg.registry import MODELS as SEG_MODELS
    from tests.helpers import seg_model_cfg
    distiller = SEG_MODELS.build(seg_model_cfg(seg_teacher_ckpt))
    assert distiller.teacher.backbone.stem[0].weight.is_contiguous()


@pytest.mark.parametrize('value', ['yes', 1])
def test_bad_channels_last_is_named(teacher_ckpt, value):
    cfg = distill_model_cfg(teacher_ckpt)
    cfg.teacher.channels_last = value
    with pytest.raises(ValueError, match=f'model.teacher.channels_last={value!r}'):
        MODELS.build(cfg)
