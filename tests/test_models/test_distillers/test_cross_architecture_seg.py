"""A segmentation teacher of another architecture: the SegFormer demo teacher (MiT stages at
strides 4, 8, 16, 32, logits at 1/4 of the input) for the demo's dilated-ResNet PSPNet student
(stages at 4, 8, 8, 8, logits at 1/8). Logit terms see the teacher's logits resized to the
student's; backbone terms pair the stages by stride, or as the user says with
``teacher_levels``."""
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmkd.models.distillers.build import build_model
from mmkd.models.losses.channel_wise import ChannelWiseDivergenceLoss
from mmkd.models.losses.feature_imitation import FeatureImitationLoss
from mmkd.registry import MODELS
from tests.helpers import seg_batch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
SEGFORMER = osp.join(ROOT, 'configs/demo/segformer_mit-tiny_3k_mmkd-demo.py')
STUDENT = osp.join(ROOT, 'configs/demo/pspnet_r18-w8-d8_1.6k_mmkd-demo-student.py')

CWD = dict(loss=dict(type='mmkd.ChannelWiseDivergenceLoss', temperature=4.0, loss_weight=3.0),
           inputs=['s_logits', 't_logits'])


def feat(**spec):
    return dict(loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=1.0),
                inputs=['s_backbone', 't_backbone'], levels=[3], **spec)


def distiller(tmp_path, **terms):
    torch.manual_seed(0)
    ckpt = str(tmp_path / 'segformer.pth')
    torch.save(build_model(Config.fromfile(SEGFORMER).model, 'mmseg').state_dict(), ckpt)
    student = Config.fromfile(STUDENT).model
    # seg_batch has ignored pixels, on which mmseg's weighted cross-entropy fails
    for head in (student.decode_head, student.auxiliary_head):
        head.loss_decode.class_weight = None
    return MODELS.build(dict(type='mmkd.SegmentationDistiller', student=student,
                             teacher=dict(config=SEGFORMER, checkpoint=ckpt),
                             kd_terms=terms))


def logits(segmentor, inputs):
    with torch.no_grad():
        return segmentor.decode_head.forward(segmentor.extract_feat(inputs))


def test_teacher_logits_at_another_stride_are_resized_to_the_students(tmp_path):
    """On the 64 px batch SegFormer's logits are 16 x 16 and the student's 8 x 8: CWD sees the
    teacher's resized bilinearly (align_corners=False) to 8 x 8, and equals the loss computed
    on them by hand. (In eval mode, so the student's dropout does not draw.)"""
    model = distiller(tmp_path, cwd=CWD)
    assert type(model.teacher.backbone).__name__ == 'MixVisionTransformer'
    model.eval()
    data = seg_batch(model)
    inputs = data['inputs']
    value = model.loss(inputs, data['data_samples'])['loss_kd_cwd']
    s, t = logits(model.student, inputs), logits(model.teacher, inputs)
    assert s.shape[-2:] == (8, 8) and t.shape[-2:] == (16, 16)
    resized = F.interpolate(t, size=(8, 8), mode='bilinear', align_corners=False)
    by_hand = ChannelWiseDivergenceLoss(temperature=4.0, loss_weight=3.0)(s, resized)
    assert value.item() == pytest.approx(by_hand.item(), rel=1e-5)
    # a 2x bilinear downsampling averages each 2 x 2 block: not the teacher's corner values
    assert torch.allclose(resized, F.avg_pool2d(t, 2), atol=1e-6)
    assert not torch.allclose(resized, t[..., ::2, ::2])


def test_backbone_stages_of_another_stride_are_refused_with_the_pairing(tmp_path):
    """The student's last stage (stride 8, 16 x 16 on the 128 px probe) against MiT's last
    (stride 32, 4 x 4): the error names the same-stride pairing (MiT's stage 1) and how to
    keep this one resized."""
    with pytest.raises(ValueError) as err:
        distiller(tmp_path, feat=feat())
    text = str(err.value)
    assert "student's backbone level 3 is 16x16" in text and "level 3 is 4x4" in text
    assert 'levels=[3], teacher_levels=[1]' in text
    assert 'say so: levels=[3], teacher_levels=[3]' in text


def test_explicit_pairing_adapts_and_resizes_the_student_stage(tmp_path):
    """With ``teacher_levels=[3]`` the 1x1 adapter lifts the student's 64 channels to MiT's
    128 and its output is resized to the teacher's 2 x 2 grid: the term equals the MSE
    computed by hand. Both terms together move the student and its adapter, never the
    teacher."""
    model = distiller(tmp_path, cwd=CWD, feat=feat(teacher_levels=[3]))
    adapter = model.kd_terms['feat'].adapters['backbone'][0]
    assert adapter.conv.weight.shape[:2] == (128, 64)
    model.train()
    data = seg_batch(model)
    inputs = data['inputs']
    losses = model.loss(inputs, data['data_samples'])
    with torch.no_grad():
        s_stage = model.student.backbone(inputs)[3]
        t_stage = model.teacher.backbone(inputs)[3]
        s = F.interpolate(F.conv2d(s_stage, adapter.conv.weight, adapter.conv.bias),
                          size=t_stage.shape[-2:], mode='bilinear', align_corners=False)
    assert s_stage.shape[-2:] == (8, 8) and t_stage.shape[-2:] == (2, 2)
    by_hand = FeatureImitationLoss(loss_weight=1.0)(s, t_stage)
    # train mode: the student's BatchNorm uses the batch's statistics in both computations
    assert losses['loss_kd_feat'].item() == pytest.approx(by_hand.item(), rel=1e-5)
    (losses['loss_kd_feat'] + losses['loss_kd_cwd']).backward()
    assert adapter.conv.weight.grad.abs().sum() > 0
    assert model.student.decode_head.conv_seg.weight.grad.abs().sum() > 0
    assert model.student.backbone.stem[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())
