"""Deep mutual learning: each member's KD term is the loss on its own prediction against its
peer's, detached, so a member gets the gradient of its own terms only."""
import copy

import pytest
import torch
from mmdet.models.utils import unpack_gt_instances
from mmengine.config import Config

from mmkd.models.distillers.head_rows import dense_rows
from mmkd.models.losses import LogitKDLoss, PixelWiseKDLoss
from mmkd.registry import MODELS
from tests.helpers import SEG_TEACHER_CFG, STUDENT_CFG, batch, seg_batch

DML_CFG = 'configs/dml/dml_retinanet-r18-narrow_retinanet-r18-narrow_12e_mmkd-demo.py'
SEG_STUDENT_CFG = 'configs/demo/pspnet_r18-w16-d8_0.8k_mmkd-demo.py'
KD = LogitKDLoss(temperature=2.0, num_anchors=9, loss_weight=2.0)


def dml(**students):
    cfg = copy.deepcopy(Config.fromfile(DML_CFG).model)
    if students:
        cfg.students = students
    return MODELS.build(cfg)


def cls_scores_and_positives(detector, inputs, samples):
    """The member's logits (train mode: BatchNorm on the batch, as in its loss) and the
    positives of its assigner."""
    out = detector.bbox_head(detector.extract_feat(inputs))
    gt, _, metas = unpack_gt_instances(samples)
    rows = dense_rows(detector.bbox_head, None, out[:2], None, gt, metas,
                      wants={'pos_mask', 'num_pos'})
    return out[0], rows['pos_mask'], rows['num_pos']


def term_by_hand(own, peer):
    s, mask, num = own
    return sum(KD(s[lv], peer[0][lv].detach(), mask[lv], num) for lv in range(len(s)))


def test_each_member_gets_only_its_own_terms_gradient():
    model = dml()
    model.train()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    assert sorted(losses) == ['student1.loss_bbox', 'student1.loss_cls',
                              'student1.loss_kd_cls_pos', 'student2.loss_bbox',
                              'student2.loss_cls', 'student2.loss_kd_cls_pos']
    with torch.no_grad():
        one = cls_scores_and_positives(model.student1, inputs, samples)
        two = cls_scores_and_positives(model.student2, inputs, samples)
    assert losses['student1.loss_kd_cls_pos'].item() == pytest.approx(
        term_by_hand(one, two).item(), rel=1e-5)
    assert losses['student2.loss_kd_cls_pos'].item() == pytest.approx(
        term_by_hand(two, one).item(), rel=1e-5)
    assert losses['student1.loss_kd_cls_pos'].item() != pytest.approx(
        losses['student2.loss_kd_cls_pos'].item())  # different random members
    losses['student1.loss_kd_cls_pos'].backward(retain_graph=True)
    assert all(p.grad is None for p in model.student2.parameters())
    assert model.student1.bbox_head.retina_cls.weight.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)
    sum(losses['student2.loss_cls']).backward()
    assert all(p.grad is None for p in model.student1.parameters())


def test_three_members_average_their_peers():
    model = dml(a=STUDENT_CFG, b=STUDENT_CFG, c=STUDENT_CFG)
    model.train()
    inputs, samples = batch()
    losses = model.loss(inputs, samples)
    with torch.no_grad():
        outs = {n: cls_scores_and_positives(model.member(n), inputs, samples) for n in 'abc'}
    by_hand = (term_by_hand(outs['a'], outs['b']) + term_by_hand(outs['a'], outs['c'])) / 2
    assert losses['a.loss_kd_cls_pos'].item() == pytest.approx(by_hand.item(), rel=1e-5)


def test_predict_runs_the_chosen_member():
    model = dml()
    model.eval()
    inputs, samples = batch(n=1)
    with torch.no_grad():
        with model.predicting_with('student2'):
            got = model(inputs, samples, mode='tensor')
        want = model.student2(inputs, samples, mode='tensor')
        first = model(inputs, samples, mode='tensor')
    assert torch.equal(got[0][0], want[0][0]) and not torch.equal(first[0][0], want[0][0])
    with pytest.raises(KeyError, match="no member 'student3'"):
        with model.predicting_with('student3'):
            pass


def test_segmentation_members_of_different_widths(tmp_path):
    cfg = copy.deepcopy(Config.fromfile(DML_CFG).model)
    cfg.students = dict(small=SEG_STUDENT_CFG, big=SEG_TEACHER_CFG)
    cfg.kd_terms = dict(pixel=dict(loss=dict(type='mmkd.PixelWiseKDLoss', loss_weight=1.0),
                                   inputs=['s_logits', 't_logits', 'valid_mask']))
    model = MODELS.build(cfg)
    for member in (model.small, model.big):  # ignored pixels: plain cross-entropy (see SKD tests)
        for head in (member.decode_head, member.auxiliary_head):
            head.loss_decode.class_weight = None
    model.eval()  # no dropout, so that a second forward gives the same logits
    data = seg_batch(model)
    losses = model.loss(data['inputs'], data['data_samples'])
    with torch.no_grad():
        small = model.small.decode_head(model.small.extract_feat(data['inputs']))
        big = model.big.decode_head(model.big.extract_feat(data['inputs']))
    gt = torch.stack([s.gt_sem_seg.data[0] for s in data['data_samples']])
    want = PixelWiseKDLoss(loss_weight=1.0)(small, big, gt != 255)
    assert losses['small.loss_kd_pixel'].item() == pytest.approx(want.item(), rel=1e-4)
    losses['big.loss_kd_pixel'].backward()
    assert all(p.grad is None for p in model.small.parameters())
    assert model.big.decode_head.conv_seg.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('change, match', [
    (dict(students=dict(only=STUDENT_CFG)), 'at least two members'),
    (dict(students=dict(det=STUDENT_CFG, seg=SEG_STUDENT_CFG)), 'mixes tasks'),
    (dict(students=dict(kd_terms=STUDENT_CFG, b=STUDENT_CFG)), "'kd_terms' is taken"),
    (dict(kd_terms=dict(x=dict(loss=dict(type='mmkd.PixelWiseKDLoss'),
                               inputs=['s_logits', 't_logits']))),
     r"read \['s_logits', 't_logits'\], which detection members do not give"),
])
def test_errors_name_the_config(change, match):
    cfg = copy.deepcopy(Config.fromfile(DML_CFG).model)
    for key, value in change.items():
        cfg[key] = value
    with pytest.raises(ValueError, match=match):
        MODELS.build(cfg)


def test_loss_scale_probe_sums_each_term_over_the_members():
    """KDLossScaleHook's measurement: the task loss is every member's own losses, a KD term is
    its value summed over the members, and gradients are taken on all members."""
    model = dml()
    model.train()
    losses = model.loss(*batch())
    report = model.measure_loss_scale(losses)
    assert sorted(report) == ['cls_pos', 'task']
    kd = losses['student1.loss_kd_cls_pos'] + losses['student2.loss_kd_cls_pos']
    assert report['cls_pos']['loss'] == pytest.approx(kd.item(), rel=1e-6)
    task = sum(sum(v) for k, v in losses.items() if 'loss_kd_' not in k)
    assert report['task']['loss'] == pytest.approx(task.item(), rel=1e-6)
    assert report['cls_pos']['grad_norm'] > 0
