import copy

import pytest
import torch

from mmkd.models.distillers import DetectionDistiller
from mmkd.registry import MODELS
from tests.helpers import STUDENT_CFG, batch, distill_model_cfg


@pytest.fixture(scope='module')
def distiller(teacher_ckpt):
    return MODELS.build(distill_model_cfg(teacher_ckpt))


def test_builds_from_inline_dict_and_config_paths(distiller, teacher_ckpt):
    assert isinstance(distiller, DetectionDistiller)
    from_paths = MODELS.build(distill_model_cfg(teacher_ckpt, student=STUDENT_CFG))
    s1 = distiller.student.state_dict()
    assert list(from_paths.student.state_dict()) == list(s1)
    # 1x1 adapters lift the student's 32 FPN channels to the teacher's 128 on the 2 hinted levels.
    adapters = distiller.kd_terms['hint'].adapters['neck']
    assert len(adapters) == 2 and adapters[0].conv.weight.shape == (128, 32, 1, 1)


def test_checkpoint_of_the_old_layout_loads_its_adapters(distiller, teacher_ckpt):
    """Before the terms were modules a checkpoint held ``adapters.<term>_<feature>.<i>.*``; it
    loads into ``kd_terms.<term>.adapters.<feature>.<i>.*`` with nothing missing."""
    state = copy.deepcopy(distiller.state_dict())
    state['kd_terms.hint.adapters.neck.1.conv.weight'].normal_()  # not the fresh model's init
    old = {k.replace('kd_terms.hint.adapters.neck.', 'adapters.hint_neck.'): v
           for k, v in state.items()}
    assert 'adapters.hint_neck.1.conv.weight' in old and not any(
        k.startswith('kd_terms.hint.adapters') for k in old)
    fresh = MODELS.build(distill_model_cfg(teacher_ckpt))
    fresh.load_state_dict(old, strict=True)
    assert torch.equal(fresh.kd_terms['hint'].adapters['neck'][1].conv.weight,
                       state['kd_terms.hint.adapters.neck.1.conv.weight'])


def test_old_keys_map_to_the_longest_term_name_that_matches():
    """Term names may hold underscores: ``adapters.cls_pos_neck`` belongs to ``cls_pos``, not to
    a term ``cls`` whose feature would be ``pos_neck``."""
    from mmkd.models.distillers.terms import KDTerm, map_old_term_keys
    from mmkd.models.distillers.vocabulary import DETECTION
    hint = dict(loss=dict(type='mmkd.FeatureImitationLoss'), inputs=['s_neck', 't_neck'])
    terms = {name: KDTerm(name, hint, DETECTION, 'D') for name in ('cls', 'cls_pos')}
    state = {'m.adapters.cls_pos_neck.0.conv.weight': 1, 'm.adapters.cls_neck.0.conv.bias': 2,
             'm.kd_losses.cls_pos.weight': 3, 'm.student.x': 4}
    map_old_term_keys(state, 'm.', terms)
    assert state == {'m.kd_terms.cls_pos.adapters.neck.0.conv.weight': 1,
                     'm.kd_terms.cls.adapters.neck.0.conv.bias': 2,
                     'm.kd_terms.cls_pos.loss.weight': 3, 'm.student.x': 4}


def test_teacher_frozen_and_eval_after_train(distiller):
    distiller.train()
    assert not distiller.teacher.training and distiller.student.training
    assert not any(p.requires_grad for p in distiller.teacher.parameters())
    assert all(p.requires_grad for p in distiller.student.parameters())


def test_teacher_loaded_from_checkpoint(distiller, teacher_ckpt):
    saved = torch.load(teacher_ckpt, weights_only=True)['state_dict']
    for key, value in distiller.teacher.state_dict().items():
        assert torch.equal(value, saved[key]), key


def test_teacher_not_in_state_dict_and_reload_keeps_it(distiller, teacher_ckpt):
    state = distiller.state_dict()
    assert not any(k.startswith('teacher.') for k in state)
    assert any(k.startswith('student.') for k in state)
    other = MODELS.build(distill_model_cfg(teacher_ckpt))
    result = other.load_state_dict(state, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    key = 'student.bbox_head.retina_cls.weight'
    assert torch.equal(other.state_dict()[key], state[key])


def test_loss_terms_and_gradients(distiller):
    distiller.train()
    inputs, samples = batch()
    losses = distiller.loss(inputs, samples)
    assert {'loss_cls', 'loss_bbox', 'loss_kd_hint', 'loss_kd_cls'} <= set(losses)
    assert losses['loss_kd_hint'].item() > 0 and losses['loss_kd_cls'].item() > 0
    distiller.zero_grad()
    (losses['loss_kd_hint'] + losses['loss_kd_cls']).backward()
    assert distiller.student.backbone.conv1.weight.grad.abs().sum() > 0
    assert distiller.kd_terms['hint'].adapters['neck'][0].conv.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in distiller.teacher.parameters())


def test_kd_weight_scales_the_term(distiller):
    distiller.train()
    inputs, samples = batch()
    before = distiller.loss(inputs, samples)['loss_kd_hint'].item()
    distiller.kd_terms['hint'].kd_weight = 0.25
    try:
        after = distiller.loss(inputs, samples)['loss_kd_hint'].item()
    finally:
        distiller.kd_terms['hint'].kd_weight = 1.0
    assert after == pytest.approx(0.25 * before, rel=1e-5)


def test_hint_equals_hand_computed_mse(distiller):
    """loss_kd_hint = sum over the configured levels (0, 1) of mean((adapter(s_l) - t_l)^2)."""
    distiller.eval()
    inputs, samples = batch()
    losses = distiller.loss(inputs, samples)
    with torch.no_grad():
        s = distiller.student.extract_feat(inputs)
        t = distiller.teacher.extract_feat(inputs)
        expected = sum(((a(s[lv], t[lv].shape[-2:]) - t[lv]) ** 2).mean()
                       for a, lv in zip(distiller.kd_terms['hint'].adapters['neck'], (0, 1)))
    assert losses['loss_kd_hint'].item() == pytest.approx(expected.item(), rel=1e-5)


def test_empty_gt_still_backpropagates(distiller):
    distiller.train()
    inputs, samples = batch(boxes_per_image=0)
    distiller.zero_grad()
    total, log_vars = distiller.parse_losses(distiller.loss(inputs, samples))
    assert torch.isfinite(total)
    assert log_vars['loss_kd_cls_pos'] == 0.0  # no positives: nothing to distil, 0 / 1
    total.backward()
    assert distiller.student.bbox_head.retina_cls.weight.grad is not None


@pytest.mark.parametrize('terms, runs', [(('hint',), ['neck']),
                                         (('hint', 'cls'), ['neck'] + ['cls'] * 5)])
def test_teacher_runs_only_as_deep_as_needed(teacher_ckpt, terms, runs):
    """The hint reads the neck: the head does not run. Logit KD reads the teacher's scores:
    its classification branch runs on the five levels, its box branch does not."""
    cfg = distill_model_cfg(teacher_ckpt)
    cfg.kd_terms = {k: v for k, v in cfg.kd_terms.items() if k in terms}
    model = MODELS.build(cfg)
    calls = []
    head = model.teacher.bbox_head
    head.retina_cls.register_forward_hook(lambda *args: calls.append('cls'))
    head.retina_reg.register_forward_hook(lambda *args: calls.append('reg'))
    model.teacher.neck.register_forward_hook(lambda *args: calls.append('neck'))
    model.train()
    model.loss(*batch())
    assert calls == runs


@MODELS.register_module(force=True)
class TargetProbeLoss(torch.nn.Module):
    """Keeps what the distiller hands it; contributes nothing."""
    seen = []

    def forward(self, pos_mask, labels, bbox_targets, gt_labels, num_pos):
        TargetProbeLoss.seen.append((pos_mask, labels, bbox_targets, gt_labels, num_pos))
        return pos_mask.float().sum() * 0


def test_targets_of_the_student_assigner(teacher_ckpt):
    """Every positive anchor carries the label of a GT box (1 or 7); every other anchor the
    background label K = 10; positive regression targets are finite deltas."""
    cfg = distill_model_cfg(teacher_ckpt, kd_terms=dict(probe=dict(
        loss=dict(type='TargetProbeLoss'),
        inputs=['pos_mask', 'labels', 'bbox_targets', 'gt_labels', 'num_pos'])))
    model = MODELS.build(cfg)
    model.train()
    TargetProbeLoss.seen.clear()
    model.loss(*batch())
    assert len(TargetProbeLoss.seen) == 5  # one call per FPN level
    pos = torch.cat([m.flatten() for m, *_ in TargetProbeLoss.seen])
    labels = torch.cat([lb.flatten() for _, lb, *_ in TargetProbeLoss.seen])
    deltas = torch.cat([t.reshape(-1, 4) for _, _, t, *_ in TargetProbeLoss.seen])
    assert pos.sum() > 0
    assert TargetProbeLoss.seen[0][4] == float(pos.sum())  # num_pos counts every level's
    assert set(labels[pos].tolist()) == {1, 7}
    assert (labels[~pos] == 10).all()
    assert torch.isfinite(deltas[pos]).all() and deltas[pos].abs().sum() > 0
    assert [g.tolist() for g in TargetProbeLoss.seen[0][3]] == [[1, 7], [1, 7]]


def test_targets_for_other_heads_are_refused(teacher_ckpt):
    """A head with neither anchors nor FCOS-style points (CenterNet's heatmaps) has no
    head-level rows: an error at build time that names it."""
    cfg = distill_model_cfg(teacher_ckpt, kd_terms=dict(probe=dict(
        loss=dict(type='TargetProbeLoss'),
        inputs=['pos_mask', 'labels', 'bbox_targets', 'gt_labels', 'num_pos'])))
    cfg.student.bbox_head = dict(type='CenterNetHead', num_classes=10, in_channels=32,
                                 feat_channels=32)
    with pytest.raises(NotImplementedError, match='CenterNetHead: head-level rows'):
        MODELS.build(cfg)


def test_unknown_knowledge_name_lists_vocabulary(teacher_ckpt):
    cfg = distill_model_cfg(teacher_ckpt)
    cfg.kd_terms.hint.inputs = ['s_nek', 't_neck']
    with pytest.raises(KeyError, match=r"(?s)'s_nek'.*Did you mean 's_neck'\?.*s_neck:.*"
                                       't_cls_scores:') as err:
        MODELS.build(cfg)
    # printed as written: one known name per line, not KeyError's quoted repr with '\n' in it
    text = str(err.value)
    assert text.startswith('model.kd_terms.hint.inputs names') and '\\n' not in text
    assert '\n  s_neck: ' in text


def test_unknown_loss_type_is_named(teacher_ckpt):
    cfg = distill_model_cfg(teacher_ckpt)
    cfg.kd_terms.hint.loss = dict(type='FeatureImitatonLoss')
    with pytest.raises(KeyError, match=r"(?s)kd_terms.hint.loss.*FeatureImitatonLoss.*"
                                       r"Did you mean 'FeatureImitationLoss'\?"):
        MODELS.build(cfg)


def test_missing_teacher_checkpoint(tmp_path, teacher_ckpt):
    cfg = distill_model_cfg(str(tmp_path / 'nope.pth'))
    with pytest.raises(FileNotFoundError, match=r'teacher checkpoint.*nope\.pth.*does not exist'):
        MODELS.build(cfg)


def test_teacher_checkpoint_with_mismatched_keys(tmp_path, teacher_ckpt):
    state = torch.load(teacher_ckpt, weights_only=True)['state_dict']
    state = {k: v for k, v in state.items() if not k.startswith('bbox_head.retina_reg')}
    state['neck.extra.weight'] = torch.zeros(1)
    state['backbone.conv1.weight'] = torch.zeros(3, 3)
    path = str(tmp_path / 'bad.pth')
    torch.save(state, path)
    with pytest.raises(ValueError, match=r'(?s)missing keys: bbox_head\.retina_reg\.weight.*'
                                         r'unexpected keys: neck\.extra\.weight.*'
                                         r'backbone\.conv1\.weight: checkpoint \(3, 3\)'):
        MODELS.build(distill_model_cfg(path))


def test_teacher_checkpoint_with_arbitrary_objects_is_refused(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'hook': copy.deepcopy}, path)
    with pytest.raises(RuntimeError, match='refused by torch.load\\(weights_only=True\\)'):
        MODELS.build(distill_model_cfg(path))


def test_bad_level_is_named(teacher_ckpt):
    cfg = distill_model_cfg(teacher_ckpt)
    cfg.kd_terms.hint.levels = [0, 7]
    with pytest.raises(IndexError, match=r'kd_terms.hint.levels.*\[7\].*5 levels'):
        MODELS.build(cfg)
