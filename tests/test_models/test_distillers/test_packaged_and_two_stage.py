"""Packaged mmdet:: configs as teacher and a two-stage (Faster R-CNN) student."""
import pytest
import torch

from mmkd.models.distillers.build import build_model, load_config
from mmkd.registry import MODELS
from tests.helpers import FASTER_RCNN, batch, small_faster_rcnn



@pytest.fixture(scope='module')
def packaged_teacher_ckpt(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model(load_config(FASTER_RCNN).model, 'mmdet')
    path = str(tmp_path_factory.mktemp('frcnn') / 'teacher.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def test_two_stage_student_with_packaged_teacher(packaged_teacher_ckpt):
    """Student Faster R-CNN R18 (inline dict), teacher mmdet's packaged Faster R-CNN R50 config:
    same FPN width (256), so no channel adapter; RPN logits distilled as the dense head."""
    distiller = MODELS.build(dict(
        type='mmkd.DetectionDistiller',
        student=small_faster_rcnn(),
        teacher=dict(config=FASTER_RCNN, checkpoint=packaged_teacher_ckpt),
        kd_terms=dict(
            hint=dict(loss=dict(type='mmkd.FeatureImitationLoss'),
                      inputs=['s_neck', 't_neck'], levels=[0, 1]),
            rpn=dict(loss=dict(type='mmkd.LogitKDLoss', num_anchors=3),
                     inputs=['s_cls_scores', 't_cls_scores']))))
    assert distiller.teacher.backbone.depth == 50
    assert distiller.kd_terms['hint'].adapters['neck'][0].conv.__class__.__name__ == 'Identity'
    distiller.train()
    losses = distiller.loss(*batch())
    assert {'loss_rpn_cls', 'loss_cls', 'loss_kd_hint', 'loss_kd_rpn'} <= set(losses)
    assert losses['loss_kd_rpn'].item() > 0
    losses['loss_kd_rpn'].backward()
    assert distiller.student.rpn_head.rpn_cls.weight.grad.abs().sum() > 0
    assert distiller.student.roi_head.bbox_head.fc_cls.weight.grad is None
