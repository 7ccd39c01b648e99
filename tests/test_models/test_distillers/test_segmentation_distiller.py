"""The segmentation distiller on the demo PSPNets: knowledge it hands the terms, how deep the
teacher runs, gradient isolation of the student, discriminator and teacher, and its errors."""
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from mmkd.engine import MultiOptimWrapperConstructor
from mmkd.registry import MODELS
from tests.helpers import IGNORE, SKD_CFG
from tests.helpers import seg_batch as batch
from tests.helpers import seg_model_cfg as model_cfg


@pytest.fixture(scope='module')
def skd(seg_teacher_ckpt):
    return MODELS.build(model_cfg(seg_teacher_ckpt))


@MODELS.register_module(force=True)
class RecordInputsLoss(nn.Module):
    """Keeps what the distiller hands it; returns a zero that back-propagates."""

    def forward(self, *args):
        self.seen = args
        return sum((a * 0).sum() for a in args if torch.is_tensor(a) and a.is_floating_point())


def record(seg_teacher_ckpt, inputs):
    return MODELS.build(model_cfg(seg_teacher_ckpt, discriminator=None, kd_terms=dict(
        rec=dict(loss=dict(type='RecordInputsLoss'), inputs=inputs))))


def test_knowledge_is_what_the_models_compute(seg_teacher_ckpt):
    """In eval mode (no dropout) the captured logits and features equal a separate forward of
    each model; the valid mask is the GT's non-ignored pixels, padding included."""
    d = record(seg_teacher_ckpt, ['s_logits', 't_logits', 's_decode_feat', 't_decode_feat',
                                  'gt_seg', 'valid_mask', 'img'])
    d.eval()
    data = batch(d)
    d.loss(**data)
    s_logits, t_logits, s_feat, t_feat, gt, valid, img = d.kd_terms['rec'].loss.seen
    with torch.no_grad():
        assert torch.allclose(s_logits, d.student.decode_head(d.student.extract_feat(img)),
                              atol=1e-6)
        assert torch.allclose(t_logits, d.teacher.decode_head(d.teacher.extract_feat(img)),
                              atol=1e-6)
    assert s_logits.shape == (2, 11, 8, 8) and t_logits.shape == (2, 11, 8, 8)
    assert s_feat.shape == (2, 32, 8, 8) and t_feat.shape == (2, 64, 8, 8)
    assert gt.shape == (2, 64, 64) and gt.dtype == torch.long
    assert torch.equal(valid, gt != IGNORE)
    # 20 x 20 labelled square, 60 x 4 ignored strip, the padding (64^2 - 60^2) ignored
    assert (gt[1] == 2).sum() == 400
    assert valid[0].sum() == 60 * 56
    assert s_logits.requires_grad and not t_logits.requires_grad


def test_dropout_feat_is_the_classifiers_input(seg_teacher_ckpt):
    """In training, s_dropout_feat is s_decode_feat through the head's Dropout2d: each channel
    map either zero or the feature / (1 - p); the teacher (eval mode) gives its feature as it
    is."""
    d = record(seg_teacher_ckpt, ['s_decode_feat', 's_dropout_feat', 't_decode_feat',
                                  't_dropout_feat'])
    d.train()
    torch.manual_seed(3)
    d.loss(**batch(d))
    s_feat, s_drop, t_feat, t_drop = d.kd_terms['rec'].loss.seen
    p = d.student.decode_head.dropout.p
    kept = s_drop.flatten(2).abs().sum(dim=2) > 0  # (N, C)
    assert 0 < int(kept.sum()) < kept.numel()
    assert torch.allclose(s_drop[kept], s_feat[kept] / (1 - p), atol=1e-6)
    assert torch.equal(t_drop, t_feat)


def test_decode_inputs_and_backbone_stages(seg_teacher_ckpt):
    d = record(seg_teacher_ckpt, ['s_decode_inputs', 't_backbone'])
    data = batch(d)
    d.loss(**data)
    s_inputs, t_backbone = d.kd_terms['rec'].loss.seen  # the last of the four levels it read
    assert s_inputs.shape == (2, 128, 8, 8) and t_backbone.shape == (2, 256, 8, 8)


@pytest.mark.parametrize('inputs,head_calls', [(['s_backbone', 't_backbone'], 0),
                                               (['s_logits', 't_logits'], 1)])
def test_teacher_runs_only_as_deep_as_needed(seg_teacher_ckpt, inputs, head_calls):
    d = record(seg_teacher_ckpt, inputs)
    calls = dict(head=0, aux=0)
    d.teacher.decode_head.conv_seg.register_forward_hook(
        lambda *a: calls.__setitem__('head', calls['head'] + 1))
    d.teacher.auxiliary_head.conv_seg.register_forward_hook(
        lambda *a: calls.__setitem__('aux', calls['aux'] + 1))
    d.loss(**batch(d))
    assert calls == dict(head=head_calls, aux=0)


def test_student_step_trains_only_the_student(skd):
    """The adversarial term's gradient reaches the student and not the discriminator; nothing
    reaches the teacher."""
    skd.zero_grad()
    params = list(skd.discriminator.parameters())
    flags = []  # its parameters' requires_grad flags while the student's step calls it
    hook = skd.discriminator.register_forward_hook(
        lambda m, a, o: flags.extend(p.requires_grad for p in params))
    losses = skd.loss(**batch(skd))
    hook.remove()
    assert set(losses) >= {'loss_kd_pixel', 'loss_kd_pair', 'loss_kd_holistic'}
    losses['loss_kd_holistic'].backward()
    assert all(p.grad is None for p in skd.discriminator.parameters())
    assert all(p.grad is None for p in skd.teacher.parameters())
    grads = [p.grad for p in skd.student.decode_head.parameters() if p.grad is not None]
    assert grads and sum(g.abs().sum() for g in grads) > 0
    assert flags and all(flags)  # never switched off (DDP's reducer reads them)


def test_frozen_discriminator_is_the_same_function_without_parameter_gradients():
    """``frozen(d)(x)`` is ``d(x)`` (spectral norm, self-attention), with the same gradient to
    ``x`` and none to ``d``'s parameters."""
    from mmkd.models.distillers.segmentation import frozen
    torch.manual_seed(0)
    d = MODELS.build(dict(type='mmkd.SegDiscriminator', num_classes=4, base_channels=8)).eval()
    x = torch.randn(2, 4, 16, 16, requires_grad=True)
    plain = d(x).sum()
    (dx_plain,) = torch.autograd.grad(plain, x)
    d.zero_grad()
    out = frozen(d)(x).sum()
    out.backward()
    assert out.item() == pytest.approx(plain.item(), rel=1e-6)
    assert torch.allclose(x.grad, dx_plain, atol=1e-6)
    assert all(p.grad is None for p in d.parameters())
    assert all(p.requires_grad for p in d.parameters())


def test_discriminator_step_trains_only_the_discriminator(skd):
    skd.zero_grad()
    skd.loss(**batch(skd))
    d_losses = skd.discriminator_loss()
    assert set(d_losses) == {'loss_disc', 'disc_wasserstein', 'disc_gp'}
    d_losses['loss_disc'].backward()
    assert all(p.grad is None for p in skd.student.parameters())
    assert all(p.grad is None for p in skd.teacher.parameters())
    assert sum(p.grad.abs().sum() for p in skd.discriminator.parameters()
               if p.grad is not None) > 0


def optim_wrappers(distiller):
    return MultiOptimWrapperConstructor(dict(
        student=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9)),
        discriminator=dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=4e-4))))(distiller)


def test_train_step_updates_student_and_discriminator_not_teacher(seg_teacher_ckpt):
    d = MODELS.build(model_cfg(seg_teacher_ckpt, disc_steps=3))
    d.train()
    wrappers = optim_wrappers(d)
    before = {k: v.clone() for k, v in d.state_dict(keep_vars=False).items()}
    teacher = {k: v.clone() for k, v in d.teacher.state_dict().items()}
    data = batch(d)
    log = d.train_step(dict(inputs=list(data['inputs']), data_samples=data['data_samples']),
                       wrappers)
    assert {'loss', 'loss_kd_holistic', 'loss_disc', 'disc_wasserstein', 'disc_gp'} <= set(log)
    after = d.state_dict()
    assert not torch.equal(before['student.decode_head.conv_seg.weight'],
                           after['student.decode_head.conv_seg.weight'])
    weight = 'discriminator.last.parametrizations.weight.original'
    assert not torch.equal(before[weight], after[weight])
    # L_D's terms E[D(T)] - E[D(S)] cancel D's last bias, and the penalty does not see it
    assert torch.equal(before['discriminator.last.bias'], after['discriminator.last.bias'])
    assert all(torch.equal(v, d.teacher.state_dict()[k]) for k, v in teacher.items())
    # three discriminator steps, one student step
    adam = wrappers['discriminator'].optimizer.state_dict()['state']
    assert {float(s['step']) for s in adam.values()} == {3.0}
    assert len(wrappers['student'].optimizer.state_dict()['state']) > 0


def test_optimizers_split_the_parameters(seg_teacher_ckpt):
    """The student's optimizer also takes the adapters (a backbone hint with an adapter); the
    teacher is in none; the discriminator only in its own."""
    terms = dict(Config.fromfile(SKD_CFG).model.kd_terms)
    terms['hint'] = dict(loss=dict(type='mmkd.FeatureImitationLoss'),
                         inputs=['s_backbone', 't_backbone'], levels=[3])
    d = MODELS.build(model_cfg(seg_teacher_ckpt, kd_terms=terms))
    wrappers = optim_wrappers(d)

    def ids(wrapper):
        return {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}
    student, disc = ids(wrappers['student']), ids(wrappers['discriminator'])
    assert {id(p) for t in d.kd_terms.values() for p in t.adapters.parameters()} <= student
    assert {id(p) for p in d.student.parameters()} <= student
    assert disc == {id(p) for p in d.discriminator.parameters()}
    assert not {id(p) for p in d.teacher.parameters()} & (student | disc)
    with pytest.raises(KeyError, match=r"names \['generator'\].*parts are"):
        MultiOptimWrapperConstructor(dict(generator=dict(
            type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))(d)
    with pytest.raises(KeyError, match=r"names \['studnet'\].*Did you mean 'student'\?"):
        MultiOptimWrapperConstructor(dict(studnet=dict(
            type='OptimWrapper', optimizer=dict(type='SGD', lr=0.1))))(d)


def test_plain_optim_wrapper_without_adversarial_term(seg_teacher_ckpt):
    d = MODELS.build(model_cfg(seg_teacher_ckpt, discriminator=None, kd_terms=dict(
        cwd=dict(loss=dict(type='mmkd.ChannelWiseDivergenceLoss'),
                 inputs=['s_logits', 't_logits']))))
    wrapper = OptimWrapper(torch.optim.SGD(d.student.parameters(), lr=0.01))
    data = batch(d)
    log = d.train_step(dict(inputs=list(data['inputs']), data_samples=data['data_samples']),
                       wrapper)
    assert log['loss_kd_cwd'] > 0 and 'loss_disc' not in log


def test_errors_name_the_config(seg_teacher_ckpt):
    holistic = Config.fromfile(SKD_CFG).model.kd_terms.holistic
    with pytest.raises(KeyError, match=r"'s_logit'.*s_logits"):
        record(seg_teacher_ckpt, ['s_logit', 't_logits'])
    with pytest.raises(ValueError, match=r'kd_terms.holistic is adversarial and needs '
                                         r'model.discriminator'):
        MODELS.build(model_cfg(seg_teacher_ckpt, discriminator=None))
    with pytest.raises(ValueError, match='no KD term is adversarial'):
        MODELS.build(model_cfg(seg_teacher_ckpt, kd_terms=dict()))
    with pytest.raises(ValueError, match='one discriminator'):
        MODELS.build(model_cfg(seg_teacher_ckpt, kd_terms=dict(a=holistic, b=holistic)))
    with pytest.raises(ValueError, match='disc_steps=0'):
        MODELS.build(model_cfg(seg_teacher_ckpt, disc_steps=0))
    d = MODELS.build(model_cfg(seg_teacher_ckpt))
    data = batch(d)
    with pytest.raises(TypeError, match="MultiOptimWrapperConstructor', student=dict"):
        d.train_step(dict(inputs=list(data['inputs']), data_samples=data['data_samples']),
                     OptimWrapper(torch.optim.SGD(d.student.parameters(), lr=0.01)))
    cfg = model_cfg(seg_teacher_ckpt)
    cfg.student.decode_head.num_classes = 5
    with pytest.raises(ValueError, match='student predicts 5 classes and the teacher 11'):
        MODELS.build(cfg)


def test_other_segmentors_deeplabv3plus_from_fcn(tmp_path):
    """A DeepLabV3+ R18 student (its own decoder, no _forward_feature) distilled from an FCN R18
    teacher (packaged mmseg configs): the hooks find both heads' classifier input and logits."""
    from mmkd.models.distillers.build import build_model, model_config
    student, _ = model_config('mmseg::deeplabv3plus/deeplabv3plus_r18-d8_4xb2-80k_cityscapes-'
                              '512x1024.py', 'student', 'mmseg')
    teacher, _ = model_config('mmseg::fcn/fcn_r18-d8_4xb2-80k_cityscapes-512x1024.py', 'teacher',
                              'mmseg')
    for cfg in (student, teacher):
        cfg.pretrained = None
        cfg.backbone.init_cfg = None
    ckpt = str(tmp_path / 'fcn.pth')
    torch.save(build_model(teacher, 'mmseg').state_dict(), ckpt)
    d = MODELS.build(dict(
        type='mmkd.SegmentationDistiller', student=student,
        teacher=dict(config=teacher, checkpoint=ckpt),
        kd_terms=dict(
            pixel=dict(loss=dict(type='mmkd.PixelWiseKDLoss'),
                       inputs=['s_logits', 't_logits', 'valid_mask']),
            pair=dict(loss=dict(type='mmkd.PairWiseKDLoss'),
                      inputs=['s_decode_feat', 't_decode_feat']),
            rec=dict(loss=dict(type='RecordInputsLoss'),
                     inputs=['s_decode_feat', 't_decode_feat', 's_logits', 't_logits']))))
    # the Cityscapes configs pad every input to the 512 x 1024 crop; pad to a multiple of 8
    d.student.data_preprocessor.size = None
    d.student.data_preprocessor.size_divisor = 8
    d.data_preprocessor = d.student.data_preprocessor
    data = batch(d, n=2, size=64)
    losses = d.loss(**data)
    assert torch.isfinite(losses['loss_kd_pixel']) and losses['loss_kd_pixel'] > 0
    assert torch.isfinite(losses['loss_kd_pair']) and losses['loss_kd_pair'] > 0
    s_feat, t_feat, s_logits, t_logits = d.kd_terms['rec'].loss.seen
    # the R18 configs' heads have 128 channels; DeepLabV3+ decodes at stride 4, FCN at 8: the
    # term sees the teacher's maps resized bilinearly to the student's 16 x 16
    assert s_logits.shape == t_logits.shape == (2, 19, 16, 16)
    assert s_feat.shape == t_feat.shape == (2, 128, 16, 16)
    with torch.no_grad():
        head = d.teacher.decode_head
        own_feat = head._forward_feature(d.teacher.extract_feat(data['inputs']))
        own_logits = head.cls_seg(own_feat)
    assert own_logits.shape[-2:] == (8, 8)
    for seen, own in ((t_logits, own_logits), (t_feat, own_feat)):
        up = torch.nn.functional.interpolate(own, size=(16, 16), mode='bilinear',
                                             align_corners=False)
        assert torch.allclose(seen, up, atol=1e-5)
