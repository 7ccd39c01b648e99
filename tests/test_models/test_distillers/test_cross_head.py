"""CrossKD's cross head: the student's tower features through the teacher's remaining head
layers. Small GFL / RetinaNet / ATSS / FCOS models with random weights (tests/helpers.py)."""
import math

import pytest
import torch

from mmkd.models.distillers.cross_head import align_scale
from tests.helpers import (RowsProbe, atss_model, fcos_model, gfl_model, one_box_batch,
                           rows_distiller, student_model)

CROSS = ['s_cross_cls_rows', 't_cls_rows', 's_cross_bins', 't_bins', 't_score_weights',
         't_score_bin_weights', 't_score_bin_avg_factor', 'cls_row_weights']


def gfl(channels=32, convs=2):
    model = gfl_model(16)
    model.bbox_head.update(feat_channels=channels, stacked_convs=convs)
    return model


def cross_distiller(tmp_path, student, teacher=None, inputs=CROSS, layer=1):
    """A distiller with ``model.cross_layer=layer`` whose probe term keeps ``inputs``."""
    return rows_distiller(tmp_path, student, teacher, inputs=inputs, cross_layer=layer)


def test_align_scale_by_hand():
    """Student channel [0, 1, 2]: mean 1, unbiased std 1, standardised [-1, 0, 1]; the teacher's
    [4, 2, 0]: mean 2, std 2, so the aligned channel is [0, 2, 4]. A second channel, constant
    in the teacher ([3, 3, 3]), becomes 3 everywhere."""
    s = torch.tensor([[0.0, 1.0, 2.0], [5.0, -1.0, 2.0]]).view(1, 2, 1, 3)
    t = torch.tensor([[4.0, 2.0, 0.0], [3.0, 3.0, 3.0]]).view(1, 2, 1, 3)
    out = align_scale(s, t)
    assert out[0, 0, 0].tolist() == pytest.approx([0.0, 2.0, 4.0], abs=1e-5)
    assert out[0, 1, 0].tolist() == pytest.approx([3.0, 3.0, 3.0], abs=1e-5)


@pytest.mark.parametrize('layer', [0, 1, 2])
def test_a_student_equal_to_the_teacher_crosses_to_the_teachers_predictions(tmp_path, layer):
    """The same weights on both sides (eval mode: the backbones' BatchNorm from running
    statistics): the student's tower features are the teacher's, align_scale leaves them as
    they are, and the cross head predicts what the teacher predicts, at every prior. The box
    weights are the teacher's largest class score, and their divisor is their sum."""
    model = cross_distiller(tmp_path, gfl(), layer=layer)
    model.student.load_state_dict(model.teacher.state_dict())
    model.eval()
    model.loss(*one_box_batch())
    (s_cls, t_cls, s_bins, t_bins, weights, bin_weights, avg_factor,
     label_weights), = RowsProbe.seen
    M = 2 * sum(h * w for h, w in [(8, 8), (4, 4), (2, 2), (1, 1), (1, 1)])
    assert s_cls.shape == t_cls.shape == (M, 10) and s_bins.shape == t_bins.shape == (4 * M, 17)
    assert torch.allclose(s_cls, t_cls, atol=1e-4) and torch.allclose(s_bins, t_bins, atol=1e-4)
    expected = t_cls.max(dim=1).values.sigmoid() * (label_weights > 0)
    assert torch.equal(weights, expected)
    assert torch.equal(bin_weights, expected.repeat_interleave(4))
    assert avg_factor == pytest.approx(4 * float(expected.sum()))


def test_gradients_reach_the_student_through_the_frozen_teacher_layers(tmp_path):
    """A student head of 32 channels under a 64-channel teacher: 1x1 adapters (one per
    branch) bridge them. A loss on the cross-head rows gives gradients to the adapters and to
    the student's convs before the layer, none to the student's convs after it (they are not
    on the path) and none to the teacher."""
    model = cross_distiller(tmp_path, gfl(channels=32), gfl(channels=64),
                            inputs=['s_cross_cls_rows', 's_cross_bins'], layer=1)
    assert model.cross_head.adapters['cls'].weight.shape == (64, 32, 1, 1)
    model.train()
    model.loss(*one_box_batch())
    s_cls, s_bins = RowsProbe.seen[0]
    (s_cls.sum() + s_bins.sum()).backward()
    head = model.student.bbox_head
    assert head.cls_convs[0].conv.weight.grad.abs().sum() > 0
    assert head.reg_convs[0].conv.weight.grad.abs().sum() > 0
    assert head.cls_convs[1].conv.weight.grad is None
    assert model.student.backbone.conv1.weight.grad.abs().sum() > 0
    assert model.cross_head.adapters['reg'].weight.grad.abs().sum() > 0


def reference_cross(s_head, t_head, s_levels, t_levels, idx):
    """CrossKD's cross head as its paper and reference code compute it, written out on its own:
    each tower to its idx-th ConvModule (the activated output: the reference keeps the tensor
    mmcv's in-place ReLU then overwrites), the student's channels standardised over (N, H, W)
    and given the teacher's mean and unbiased std, ReLU, the teacher's remaining convs and
    output layer, the teacher's Scale on the box branch."""
    def tower(convs, x, upto):
        for conv in convs[:upto]:
            x = conv(x)
        return x

    def stats(x):
        rows = x.permute(1, 0, 2, 3).reshape(x.shape[1], -1)
        return rows.mean(1).view(1, -1, 1, 1), rows.std(1).view(1, -1, 1, 1)

    out = dict(cls=[], reg=[])
    for lv, (xs, xt) in enumerate(zip(s_levels, t_levels)):
        for branch in ('cls', 'reg'):
            s_convs = getattr(s_head, f'{branch}_convs')
            t_convs = getattr(t_head, f'{branch}_convs')
            fs, ft = tower(s_convs, xs, idx), tower(t_convs, xt, idx)
            (ms, ss), (mt, st) = stats(fs), stats(ft)
            x = torch.relu((fs - ms) / (ss + 1e-6) * st + mt)
            for conv in t_convs[idx:]:
                x = conv(x)
            if branch == 'cls':
                out['cls'].append(t_head.gfl_cls(x))
            else:
                out['reg'].append(t_head.scales[lv](t_head.gfl_reg(x)).float())
    return out


def test_cross_head_equals_the_reference_computation_for_another_teacher(tmp_path):
    """Student and teacher with different random weights (same channels: the reference has no
    adapter): the cross head's maps equal the reference computation written out above, on every
    level and both branches, at layers 1 and 2."""
    for layer in (1, 2):
        model = cross_distiller(tmp_path, gfl(), inputs=['s_cross_cls_scores',
                                                         's_cross_bbox_preds'], layer=layer)
        assert model.cross_head.adapters is None
        model.eval()
        inputs, samples = one_box_batch()
        model.loss(inputs, samples)
        with torch.no_grad():
            expected = reference_cross(model.student.bbox_head, model.teacher.bbox_head,
                                       model.student.extract_feat(inputs),
                                       model.teacher.extract_feat(inputs), layer)
        assert len(RowsProbe.seen) == 5
        for lv, (cls, reg) in enumerate(RowsProbe.seen):
            assert torch.allclose(cls, expected['cls'][lv], atol=1e-4), (layer, lv)
            assert torch.allclose(reg, expected['reg'][lv], atol=1e-4), (layer, lv)
        assert not torch.allclose(RowsProbe.seen[0][0],
                                  model.teacher.bbox_head(model.teacher.extract_feat(inputs))[0][0])


def test_retinanet_cross_boxes_are_decoded_by_the_teachers_coder(tmp_path):
    """RetinaNet (no Scale, delta coder): with equal weights the cross boxes are the
    teacher's, (M, 4) for the 9 anchors of every location."""
    model = cross_distiller(tmp_path, student_model(), inputs=['s_cross_boxes', 't_boxes'],
                            layer=2)
    model.student.load_state_dict(model.teacher.state_dict())
    model.eval()
    model.loss(*one_box_batch())
    s_boxes, t_boxes = RowsProbe.seen[0]
    assert s_boxes.shape == t_boxes.shape and s_boxes.shape[0] % 9 == 0
    assert torch.allclose(s_boxes, t_boxes, atol=1e-3)


def fsaf_model():
    """A RetinaNet whose head is mmdet's FSAFHead: a RetinaHead whose forward_single is its
    own (a ReLU on the boxes), so not known to the cross head."""
    model = student_model()
    model.bbox_head.update(type='FSAFHead', reg_decoded_bbox=True,
                           bbox_coder=dict(type='TBLRBBoxCoder', normalizer=4.0),
                           loss_bbox=dict(type='IoULoss', eps=1e-6, loss_weight=1.0,
                                          reduction='none'))
    return model


def test_heads_that_keep_atss_forward_single_but_not_its_layers_are_not_read_layer_by_layer():
    """RTMDet's and TOOD's heads inherit ATSS's forward_single but have their own forward and
    layers: the cross head and the one-branch teacher runs do not take them for ATSS."""
    from mmdet.registry import MODELS as MMDET_MODELS

    from mmkd.models.distillers.head_rows import head_layers
    tood = MMDET_MODELS.build(dict(
        type='TOODHead', num_classes=10, in_channels=32, feat_channels=32, stacked_convs=2,
        anchor_generator=dict(type='AnchorGenerator', ratios=[1.0], octave_base_scale=8,
                              scales_per_octave=1, strides=[8, 16, 32, 64, 128])))
    rtmdet = MMDET_MODELS.build(dict(
        type='RTMDetHead', num_classes=10, in_channels=32, feat_channels=32, stacked_convs=2,
        anchor_generator=dict(type='MlvlPointGenerator', offset=0, strides=[8, 16, 32]),
        bbox_coder=dict(type='DistancePointBBoxCoder')))
    assert head_layers(tood) is None and head_layers(rtmdet) is None
    atss = MMDET_MODELS.build(dict(atss_model().bbox_head, train_cfg=None))
    assert head_layers(atss).centerness == 'atss_centerness'


def test_clear_errors(tmp_path):
    with pytest.raises(ValueError, match=r'cross_layer=3.*2 convs per tower.*from 0'):
        cross_distiller(tmp_path, gfl(), layer=3)
    with pytest.raises(NotImplementedError, match='FSAFHead'):
        cross_distiller(tmp_path, fsaf_model(), inputs=['s_cross_cls_rows'], layer=1)
    with pytest.raises(ValueError, match="FCOSHead has none"):
        cross_distiller(tmp_path, fcos_model(), layer=1)
    with pytest.raises(ValueError, match="RetinaHead has none"):
        cross_distiller(tmp_path, student_model(), inputs=['s_cross_bins'], layer=2)


# ----------------------------------------------------------------- ATSS and FCOS heads
ATSS_FCOS = ['s_cross_cls_rows', 't_cls_rows', 's_cross_boxes', 't_boxes',
             's_cross_pos_centerness', 't_pos_centerness', 't_score_weights']


@pytest.mark.parametrize('make, layer', [(atss_model, 1), (atss_model, 2), (fcos_model, 1)])
def test_atss_and_fcos_students_equal_to_the_teacher_cross_to_its_predictions(tmp_path, make,
                                                                              layer):
    """ATSS (Scale, deltas, centerness from the box tower) and FCOS (Scale, distances clamped at
    0 and in pixels in eval mode with norm_on_bbox, centerness from the classification tower):
    with the teacher's weights the cross head's scores, boxes and centerness at the positives
    are the teacher's."""
    model = cross_distiller(tmp_path, make(), inputs=ATSS_FCOS, layer=layer)
    model.student.load_state_dict(model.teacher.state_dict())
    model.eval()
    model.loss(*one_box_batch())
    s_cls, t_cls, s_boxes, t_boxes, s_ctr, t_ctr, weights = RowsProbe.seen[0]
    M = 2 * sum(h * w for h, w in [(8, 8), (4, 4), (2, 2), (1, 1), (1, 1)])
    assert s_cls.shape == t_cls.shape == (M, 10) and s_boxes.shape == t_boxes.shape == (M, 4)
    assert torch.allclose(s_cls, t_cls, atol=1e-4)
    assert torch.allclose(s_boxes, t_boxes, atol=1e-3)
    assert s_ctr.shape == t_ctr.shape and s_ctr.shape[1] == 1 and len(s_ctr) > 0
    assert torch.allclose(s_ctr, t_ctr, atol=1e-4)
    assert torch.equal(weights, t_cls.max(dim=1).values.sigmoid())


@pytest.mark.parametrize('make, options', [
    (atss_model, {}), (fcos_model, dict(centerness_on_reg=False)),
    (fcos_model, dict(centerness_on_reg=True)), (fcos_model, dict(norm_on_bbox=False))])
def test_the_teachers_layer_by_layer_outputs_are_its_forward(tmp_path, make, options):
    """The cross head runs the teacher's head layer by layer; on the teacher's own features
    that gives what mmdet's forward of the head gives, on every level: scores, boxes (the
    level's Scale, here 0.5 + level, and FCOS's box activation) and centerness (ATSS: box
    tower; FCOS: classification tower unless centerness_on_reg)."""
    student = make()
    student.bbox_head.update(options)
    model = cross_distiller(tmp_path, student, inputs=['s_cross_cls_rows'], layer=1)
    head = model.teacher.bbox_head
    for lv, scale in enumerate(head.scales):
        scale.scale.data.fill_(0.5 + lv)
    model.eval()
    inputs, _ = one_box_batch()
    with torch.no_grad():
        feats = model.teacher.extract_feat(inputs)
        cls, reg, ctr, _ = model.cross_head.teacher(feats)
        expected = head(feats)
    for ours, mmdet in zip((cls, reg, ctr), expected):
        assert len(ours) == len(mmdet) == 5
        for a, b in zip(ours, mmdet):
            assert torch.allclose(a, b, atol=1e-5)


def test_fcos_cross_boxes_follow_the_heads_box_activation(tmp_path):
    """Box logits of 1 everywhere (the output conv's weights 0, its bias 1, Scale 1): with
    norm_on_bbox the teacher in eval mode predicts 1 x the level's stride on each side, a box
    2 strides wide at each point; without it exp(1) pixels each side. The cross head's boxes are
    the teacher's either way."""
    strides = torch.tensor([8.] * 64 + [16.] * 16 + [32.] * 4 + [64.] + [128.]).repeat(2)
    for norm, side in ((True, strides), (False, torch.full_like(strides, math.e))):
        student = fcos_model()
        student.bbox_head.norm_on_bbox = norm
        model = cross_distiller(tmp_path, student, inputs=['s_cross_boxes', 't_boxes'], layer=1)
        for head in (model.teacher.bbox_head, model.student.bbox_head):
            torch.nn.init.zeros_(head.conv_reg.weight)
            torch.nn.init.ones_(head.conv_reg.bias)
        model.eval()
        RowsProbe.seen = []
        model.loss(*one_box_batch())
        s_boxes, t_boxes = RowsProbe.seen[0]
        widths = t_boxes[:, 2:] - t_boxes[:, :2]
        assert torch.allclose(widths, 2 * side[:, None].expand(-1, 2)), norm
        assert torch.allclose(s_boxes, t_boxes), norm


def test_fcos_centerness_avg_factor_by_hand(tmp_path):
    """The box [8, 8, 40, 40] on a 64 px image: FCOS's positives are the 4 x 4 points of
    level 0 inside it (x, y in 12, 20, 28, 36; level 1's 24 is too near to regress there), whose
    left/right distances are (4, 28), (12, 20), (20, 12), (28, 4): min/max 1/7, 3/5, 3/5, 1/7.
    The centerness sqrt(a_x a_y) summed is (2 sqrt(1/7) + 2 sqrt(3/5))^2 per image; two
    images."""
    model = rows_distiller(tmp_path, fcos_model(),
                           inputs=['s_cls_rows', 'centerness_avg_factor', 'num_pos'])
    model.train()
    model.loss(*one_box_batch())
    _, factor, num_pos = RowsProbe.seen[0]
    assert num_pos == 32
    assert factor == pytest.approx(2 * (2 / 7 ** 0.5 + 2 * 0.6 ** 0.5) ** 2, rel=1e-5)
    with pytest.raises(ValueError, match="FCOS head's box loss; the student's head is GFLHead"):
        rows_distiller(tmp_path, gfl(), inputs=['centerness_avg_factor'])
    with pytest.raises(ValueError, match="GFLHead is not a head mmkd reads a centerness from"):
        rows_distiller(tmp_path, gfl(), inputs=['t_pos_centerness'])
