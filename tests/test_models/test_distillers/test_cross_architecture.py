"""Teachers of another architecture for the demo's ResNet RetinaNet student, with the feature
terms (PKD, MGD, FGD, CWD): a two-stage Faster R-CNN whose FPN starts at P2 (levels paired by
stride with ``teacher_levels``, or refused with the pairing named) and a Swin Transformer FPN
(other channels, the same strides)."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmkd.models.distillers.build import build_model
from mmkd.models.losses.pkd import PKDLoss
from mmkd.registry import MODELS
from tests.helpers import RowsProbe, batch, student_model, tiny_faster_rcnn

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
SWIN_TEACHER = osp.join(ROOT, 'configs/demo/retinanet_swin-tiny_fpn_24e_mmkd-demo.py')


def distiller(tmp_path, teacher, **terms):
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'teacher.pth')
    torch.save(build_model(teacher, 'mmdet').state_dict(), ckpt)
    return MODELS.build(dict(type='mmkd.DetectionDistiller', student=student_model(),
                             teacher=dict(config=teacher, checkpoint=ckpt,
                                          channels_last=False),
                             kd_terms=terms))


def necks(model, inputs):
    with torch.no_grad():
        return model.student.extract_feat(inputs), model.teacher.extract_feat(inputs)


def pkd(**spec):
    return dict(loss=dict(type='mmkd.PKDLoss', loss_weight=10.0), inputs=['s_neck', 't_neck'],
                **spec)


# ---------------------------------------------------------------- a two-stage teacher, P2-P6
def test_levels_of_other_strides_are_refused_with_the_pairing_by_stride(tmp_path):
    """The Faster R-CNN FPN gives P2-P6 (strides 4-64), the RetinaNet student's P3-P7 (8-128):
    index 0 of each is another stride. On the 128 px probe, the student's P3-P6 are 16, 8, 4,
    2 px wide: the teacher's levels 1-4; its P7 (1 px) has no teacher level."""
    with pytest.raises(ValueError) as err:
        distiller(tmp_path, tiny_faster_rcnn(), pkd=pkd())
    text = str(err.value)
    assert "student's neck level 0 is 16x16" in text and "teacher's level 0 is 32x32" in text
    assert 'levels=[0, 1, 2, 3], teacher_levels=[1, 2, 3, 4]' in text
    assert 'say so: levels=[0, 1, 2, 3, 4], teacher_levels=[0, 1, 2, 3, 4]' in text


def test_teacher_levels_pair_the_same_strides(tmp_path):
    """With ``teacher_levels`` each student level reads the teacher level of its stride: the
    term equals PKD summed over the pairs by hand, with no resize (sizes equal) and a 1x1
    adapter from the student's 32 channels to the teacher's 64; the gradient reaches the
    student and the adapters, never the teacher."""
    model = distiller(tmp_path, tiny_faster_rcnn(),
                      pkd=pkd(levels=[0, 1, 2, 3], teacher_levels=[1, 2, 3, 4]))
    term = model.kd_terms['pkd']
    assert [a.conv.weight.shape[:2] for a in term.adapters['neck']] == [(64, 32)] * 4
    model.train()
    inputs, samples = batch()
    value = model.loss(inputs, samples)['loss_kd_pkd']
    s_neck, t_neck = necks(model, inputs)
    assert len(s_neck) == len(t_neck) == 5
    by_hand = 0.
    for i, (lv, tl) in enumerate(zip([0, 1, 2, 3], [1, 2, 3, 4])):
        assert s_neck[lv].shape[-2:] == t_neck[tl].shape[-2:]  # 8, 4, 2, 1 on 64 px
        conv = term.adapters['neck'][i].conv
        with torch.no_grad():
            s = F.conv2d(s_neck[lv], conv.weight, conv.bias)
        by_hand = by_hand + PKDLoss(loss_weight=10.0)(s, t_neck[tl])
    assert value.item() == pytest.approx(by_hand.item(), rel=1e-5)
    value.backward()
    assert all(a.conv.weight.grad.abs().sum() > 0 for a in term.adapters['neck'])
    assert model.student.neck.fpn_convs[0].conv.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())


def test_visual_maps_pair_the_levels_as_the_term_does(tmp_path):
    """KDVisualizationHook's maps of student level 0 show the teacher level the term pairs
    with it (level 1, the same stride), not the teacher's level 0."""
    model = distiller(tmp_path, tiny_faster_rcnn(),
                      pkd=pkd(levels=[0, 1, 2, 3], teacher_levels=[1, 2, 3, 4]))
    inputs, samples = batch()
    maps = model.visual_maps(inputs, samples)
    _, t_neck = necks(model.eval(), inputs[:1])
    assert torch.allclose(maps['level0']['teacher_attention'], t_neck[1][0].abs().mean(0))
    assert maps['level0']['difference'].shape == t_neck[1].shape[-2:]


def test_explicit_index_pairs_compare_other_strides_resized(tmp_path):
    """The reference's Swin config pairs by index: ``teacher_levels`` equal to ``levels`` is the
    user's choice and is not refused; the student's level is resized to the teacher's (twice
    its size) before the loss, which sees the teacher's own level."""
    RowsProbe.seen = []
    model = distiller(tmp_path, tiny_faster_rcnn(),
                      probe=dict(loss=dict(type='RowsProbe'), inputs=['s_neck', 't_neck'],
                                 levels=[0, 1], teacher_levels=[0, 1]))
    model.train()
    inputs, samples = batch()
    model.loss(inputs, samples)
    _, t_neck = necks(model, inputs)
    assert len(RowsProbe.seen) == 2
    for (s, t), tl in zip(RowsProbe.seen, [0, 1]):
        assert torch.equal(t, t_neck[tl])
        assert s.shape == t.shape == (2, 64, 16 // 2 ** tl, 16 // 2 ** tl)


@pytest.mark.parametrize('spec, error, words', [
    (dict(teacher_levels=[1, 2]), ValueError, 'needs the student levels'),
    (dict(levels=[0, 1], teacher_levels=[1, 2, 3]), ValueError, 'pairs 3 teacher levels'),
    (dict(levels=[0, 1], teacher_levels=[4, 5]), IndexError, 'levels [5] do not exist'),
])
def test_bad_teacher_levels_are_named(tmp_path, spec, error, words):
    with pytest.raises(error) as err:
        distiller(tmp_path, tiny_faster_rcnn(), pkd=pkd(**spec))
    assert 'model.kd_terms.pkd' in str(err.value) and words in str(err.value)


def test_a_teacher_with_fewer_levels_is_named(tmp_path):
    """A teacher FPN of 4 levels against the student's 5 (levels='all'): the term reads a
    teacher level that does not exist; the error says so before any step."""
    teacher = tiny_faster_rcnn()
    teacher.neck.num_outs = 4
    with pytest.raises(IndexError) as err:
        distiller(tmp_path, teacher, pkd=pkd())
    assert 'the teacher gives 4 levels' in str(err.value) and 'teacher_levels' in str(err.value)


# ----------------------------------------------------------------------- a Swin teacher
FEATURE_TERMS = dict(
    pkd=pkd(levels=[0, 1, 2, 3]),
    mgd=dict(loss=dict(type='mmkd.MGDLoss', student_channels=32, teacher_channels=128,
                       alpha_mgd=2e-5, lambda_mgd=0.65),
             inputs=['s_neck', 't_neck']),
    fgd=dict(loss=dict(type='mmkd.FGDLoss', student_channels=32, teacher_channels=128),
             inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape']),
    cwd=dict(loss=dict(type='mmkd.ChannelWiseDivergenceLoss', temperature=1.0, loss_weight=1.0),
             inputs=['s_neck', 't_neck']),
)


def test_swin_teacher_for_a_resnet_student_with_the_feature_terms(tmp_path):
    """The Swin demo teacher (FPN of 128 channels on Swin stages of 64-256) and the ResNet-18
    student (FPN of 32): PKD, MGD, FGD and CWD on the same strides, channels aligned by the
    adapters (MGD and FGD by their own 1x1 convs). Each term is finite and positive on random weights, moves
    the student and leaves the Swin teacher without gradient."""
    teacher = Config.fromfile(SWIN_TEACHER).model
    model = distiller(tmp_path, teacher, **FEATURE_TERMS)
    assert type(model.teacher.backbone).__name__ == 'SwinTransformer'
    for name in ('pkd', 'cwd'):
        assert model.kd_terms[name].adapters['neck'][0].conv.weight.shape[:2] == (128, 32), name
    model.train()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    total = 0.
    for name in FEATURE_TERMS:
        value = losses[f'loss_kd_{name}']
        assert torch.isfinite(value) and value.item() > 0, name
        total = total + value
    total.backward()
    assert model.student.backbone.conv1.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
