"""FGD, DeFeat and FGFI as distiller terms: one entry for a list of FPN levels, the learnable
parts per level, in the optimizer and in checkpoints, and the term's value equal to the loss
called by hand on the same tensors."""
import pytest
import torch
from mmengine.optim import build_optim_wrapper

from mmkd.models.adapters import ConvAdapter
from mmkd.models.losses import FGDLoss, FineGrainedImitationLoss
from mmkd.registry import MODELS
from tests.helpers import batch, distill_model_cfg

FEATURE_INPUTS = ['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape']


def build(teacher_ckpt, student=None, **terms):
    cfg = distill_model_cfg(teacher_ckpt)
    cfg.kd_terms = terms
    if student is not None:
        cfg.student = student
    return MODELS.build(cfg)


def fgd_term(**loss):
    return dict(loss=dict(dict(type='mmkd.FGDLoss', student_channels=32, teacher_channels=128),
                          **loss), inputs=FEATURE_INPUTS)


def necks(model, inputs):
    with torch.no_grad():
        return model.student.extract_feat(inputs), model.teacher.extract_feat(inputs)


def test_fgd_one_term_all_levels_each_with_its_own_parts(teacher_ckpt):
    model = build(teacher_ckpt, fgd=fgd_term())
    losses = model.kd_terms['fgd'].loss
    assert isinstance(losses, torch.nn.ModuleList) and len(losses) == 5
    assert all(isinstance(x, FGDLoss) for x in losses)
    assert len({id(x.student_context) for x in losses}) == 5
    assert not model.kd_terms['fgd'].adapters  # FGD aligns channels itself
    model.train()
    inputs, samples = batch()
    value = model.loss(inputs, samples)['loss_kd_fgd']
    s_neck, t_neck = necks(model, inputs)
    boxes = [s.gt_instances.bboxes for s in samples]
    by_hand = sum(losses[lv](s_neck[lv], t_neck[lv], boxes, (64, 64)) for lv in range(5))
    assert value.item() == pytest.approx(by_hand.item(), rel=1e-5)
    value.backward()
    for loss in losses:
        assert loss.align.weight.grad.abs().sum() > 0
        assert loss.student_context.transform[-1].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.teacher.parameters())


def test_fgd_parts_reach_the_optimizer_and_checkpoints(teacher_ckpt):
    """MMEngine's optimizer constructor puts every parameter in a group (the frozen teacher's
    too, which then never get a gradient): one AdamW step with weight decay moves the FGD parts
    and leaves the teacher as it was."""
    model = build(teacher_ckpt, fgd=fgd_term())
    wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='AdamW', lr=0.01,
                                                             weight_decay=0.05)))
    optimised = {id(p) for group in wrapper.optimizer.param_groups for p in group['params']}
    assert all(id(p) in optimised for p in model.kd_terms.parameters())
    teacher_before = [p.clone() for p in model.teacher.parameters()]
    align_before = model.kd_terms['fgd'].loss[4].align.weight.clone()
    model.train()
    wrapper.update_params(model.parse_losses(model.loss(*batch()))[0])
    assert all(torch.equal(a, b) for a, b in zip(teacher_before, model.teacher.parameters()))
    assert not torch.equal(align_before, model.kd_terms['fgd'].loss[4].align.weight)
    state = model.state_dict()
    assert 'kd_terms.fgd.loss.4.student_context.conv_mask.weight' in state
    assert 'kd_terms.fgd.loss.0.align.weight' in state
    again = build(teacher_ckpt, fgd=fgd_term())
    again.load_state_dict(state, strict=True)
    assert torch.equal(again.kd_terms['fgd'].loss[3].align.weight,
                       model.kd_terms['fgd'].loss[3].align.weight)
    # a checkpoint written before the terms were modules keeps loading: kd_losses.<term>.*
    old = {k.replace('kd_terms.fgd.loss.', 'kd_losses.fgd.'): v for k, v in state.items()}
    assert 'kd_losses.fgd.3.align.weight' in old
    before = build(teacher_ckpt, fgd=fgd_term())
    before.load_state_dict(old, strict=True)
    assert torch.equal(before.kd_terms['fgd'].loss[3].align.weight,
                       model.kd_terms['fgd'].loss[3].align.weight)


def test_fgd_channel_mismatch_names_the_setting(teacher_ckpt):
    with pytest.raises(ValueError, match=r'kd_terms.fgd.loss.student_channels=64.*student neck '
                                         r'gives \[32\].*set student_channels=32'):
        build(teacher_ckpt, fgd=fgd_term(student_channels=64))
    with pytest.raises(ValueError, match=r'teacher_channels=256.*set teacher_channels=128'):
        build(teacher_ckpt, fgd=fgd_term(teacher_channels=256))


def test_defeat_with_a_3x3_adapter_per_level(teacher_ckpt):
    model = build(teacher_ckpt, defeat=dict(
        loss=dict(type='mmkd.DecoupledFeatureLoss'), inputs=FEATURE_INPUTS, levels=[0, 1, 2],
        adapter=dict(type='mmkd.ConvAdapter', kernel_size=3, always=True, init_std=1e-4)))
    adapters = model.kd_terms['defeat'].adapters['neck']
    assert len(adapters) == 3 and adapters[0].conv.weight.shape == (128, 32, 3, 3)
    assert adapters[0].conv.weight.std().item() == pytest.approx(1e-4, rel=0.1)
    model.train()
    inputs, samples = batch()
    value = model.loss(inputs, samples)['loss_kd_defeat']
    s_neck, t_neck = necks(model, inputs)
    boxes = [s.gt_instances.bboxes for s in samples]
    by_hand = model.kd_terms['defeat'].loss(
        [adapters[lv](s_neck[lv], t_neck[lv].shape[-2:]) for lv in range(3)], t_neck[:3], boxes,
        (64, 64))
    assert value.item() == pytest.approx(by_hand.item(), rel=1e-5)
    value.backward()
    assert adapters[2].conv.weight.grad.abs().sum() > 0


def test_conv_adapter_always_builds_a_conv():
    assert isinstance(ConvAdapter(4, 4).conv, torch.nn.Identity)
    adapter = ConvAdapter(4, 4, kernel_size=3, always=True)
    assert adapter.conv.weight.shape == (4, 4, 3, 3)
    assert adapter(torch.zeros(1, 4, 5, 5), (10, 10)).shape == (1, 4, 10, 10)
    with pytest.raises(ValueError, match='kernel_size=2'):
        ConvAdapter(4, 4, kernel_size=2)


def test_the_1x1_adapter_as_a_matrix_product_equals_the_convolution():
    """The 1x1 adapter runs as a batched matrix product: the value and the gradients (input,
    weight, bias) of ``F.conv2d``, on a channels-last input too."""
    torch.manual_seed(0)
    adapter = ConvAdapter(6, 10)
    target = torch.randn(3, 10, 5, 7)
    results = []
    for run in ('adapter', 'conv2d', 'channels-last'):
        adapter.zero_grad()
        x = torch.randn(3, 6, 5, 7, generator=torch.Generator().manual_seed(1))
        if run == 'channels-last':
            x = x.contiguous(memory_format=torch.channels_last)
        x.requires_grad_(True)
        y = torch.nn.functional.conv2d(x, adapter.conv.weight, adapter.conv.bias) \
            if run == 'conv2d' else adapter(x, (5, 7))
        ((y - target) ** 2).sum().backward()
        results.append([y.detach(), x.grad, adapter.conv.weight.grad.clone(),
                        adapter.conv.bias.grad.clone()])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)


def test_conv_adapter_with_relu():
    """FGFI's reference adaptation layer: a 1x1 conv of weight 1 and bias 0 with a ReLU maps
    [-2, 3] to [0, 3]; a ReLU without a conv is refused."""
    adapter = ConvAdapter(1, 1, always=True, relu=True)
    torch.nn.init.ones_(adapter.conv.weight)
    torch.nn.init.zeros_(adapter.conv.bias)
    x = torch.tensor([-2.0, 3.0]).view(1, 1, 1, 2)
    assert adapter(x, (1, 2)).flatten().tolist() == [0.0, 3.0]
    with pytest.raises(ValueError, match='relu=True needs a conv'):
        ConvAdapter(4, 4, relu=True)


def test_fgfi_reads_all_levels_at_once_with_the_student_anchors(teacher_ckpt):
    model = build(teacher_ckpt, fgfi=dict(
        loss=dict(type='mmkd.FineGrainedImitationLoss', loss_weight=1.0),
        inputs=['s_neck', 't_neck', 'priors', 'gt_bboxes'], levels=[0, 1, 2]))
    model.train()
    inputs, samples = batch()
    value = model.loss(inputs, samples)['loss_kd_fgfi']
    s_neck, t_neck = necks(model, inputs)
    priors = model.student_priors([f.shape[-2:] for f in s_neck], inputs.device)
    assert [len(p) for p in priors[:3]] == [9 * 8 * 8, 9 * 4 * 4, 9 * 2 * 2]
    adapters = model.kd_terms['fgfi'].adapters['neck']
    boxes = [s.gt_instances.bboxes for s in samples]
    by_hand = FineGrainedImitationLoss(loss_weight=1.0)(
        [adapters[lv](s_neck[lv], t_neck[lv].shape[-2:]) for lv in range(3)],
        [t_neck[lv] for lv in range(3)], priors[:3], boxes)
    assert value.item() == pytest.approx(by_hand.item(), rel=1e-5) and value.item() > 0


def test_fgfi_on_an_anchor_free_student_uses_squares_on_the_points(teacher_ckpt):
    """An FCOS student: each prior point of stride s stands for the 8s x 8s square on it."""
    from mmengine.config import Config

    from tests.helpers import STUDENT_CFG
    student = Config.fromfile(STUDENT_CFG).model
    student.bbox_head = dict(type='FCOSHead', num_classes=10, in_channels=32, feat_channels=32,
                             stacked_convs=1, strides=[8, 16, 32, 64, 128])
    student.train_cfg = None
    model = build(teacher_ckpt, student=student, fgfi=dict(
        loss=dict(type='mmkd.FineGrainedImitationLoss'),
        inputs=['s_neck', 't_neck', 'priors', 'gt_bboxes']))
    priors = model.student_priors([(8, 8), (4, 4), (2, 2), (1, 1), (1, 1)], torch.device('cpu'))
    # FCOS's first point of stride 8 is (4, 4): the square [4 - 32, 4 - 32, 4 + 32, 4 + 32].
    assert priors[0][0].tolist() == [-28.0, -28.0, 36.0, 36.0]
    assert priors[1][0].tolist() == [-56.0, -56.0, 72.0, 72.0]
    model.train()
    value = model.loss(*batch())['loss_kd_fgfi']
    assert torch.isfinite(value) and value.item() > 0


def test_batch_without_any_box_gives_finite_losses_and_gradients(teacher_ckpt):
    """Every image without GT: FGD and DeFeat keep their background terms, FGFI is 0; all
    finite, and the student still gets a gradient from the background terms."""
    model = build(
        teacher_ckpt, fgd=fgd_term(),
        defeat=dict(loss=dict(type='mmkd.DecoupledFeatureLoss'), inputs=FEATURE_INPUTS),
        fgfi=dict(loss=dict(type='mmkd.FineGrainedImitationLoss'),
                  inputs=['s_neck', 't_neck', 'priors', 'gt_bboxes']))
    model.train()
    losses = model.loss(*batch(boxes_per_image=0))
    assert losses['loss_kd_fgd'].item() > 0 and losses['loss_kd_defeat'].item() > 0
    assert losses['loss_kd_fgfi'].item() == 0
    total = losses['loss_kd_fgd'] + losses['loss_kd_defeat'] + losses['loss_kd_fgfi']
    total.backward()
    grads = [p.grad for p in model.student.neck.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert sum(g.abs().sum() for g in grads) > 0


def test_inherit_copies_exactly_the_named_modules(teacher_ckpt):
    """FGD's inheriting strategy: a student of the teacher's architecture, ``inherit=['neck',
    'bbox_head']``: after init_weights() its neck and head equal the teacher's, tensor for
    tensor, and its backbone keeps its own initialisation."""
    from mmengine.config import Config
    from tests.helpers import TEACHER_CFG
    student = Config.fromfile(TEACHER_CFG).model
    torch.manual_seed(5)
    cfg = distill_model_cfg(teacher_ckpt, inherit=['neck', 'bbox_head'])
    cfg.student = student
    cfg.kd_terms = dict(fgd=dict(loss=dict(type='mmkd.FGDLoss', student_channels=128,
                                           teacher_channels=128), inputs=FEATURE_INPUTS))
    model = MODELS.build(cfg)
    model.init_weights()
    s_state, t_state = model.student.state_dict(), model.teacher.state_dict()
    copied = [k for k in s_state if k.split('.')[0] in ('neck', 'bbox_head')]
    assert len(copied) > 10
    assert all(torch.equal(s_state[k], t_state[k]) for k in copied)
    backbone = [k for k in s_state if k.startswith('backbone.') and k.endswith('conv1.weight')]
    assert backbone and not any(torch.equal(s_state[k], t_state[k]) for k in backbone)


def test_inherit_errors_name_the_modules(teacher_ckpt):
    """The narrow demo student's neck has 32 channels, the teacher's 128: the error names a
    parameter of another shape; a module the student does not have is named too."""
    with pytest.raises(ValueError, match=r"student neck cannot start from the teacher's: 0 "
                                         r'missing and \d+ of another shape.*neck\.'
                                         r'lateral_convs\.0\.conv\.weight \(32, '):
        MODELS.build(distill_model_cfg(teacher_ckpt, inherit=['neck']))
    with pytest.raises(ValueError, match=r"inherit names 'roi_head'.*its modules: .*bbox_head"):
        MODELS.build(distill_model_cfg(teacher_ckpt, inherit='roi_head'))


def old_name(key):
    """A key as a checkpoint written before the terms were modules had it."""
    parts = key.split('.')
    if parts[0] != 'kd_terms':
        return key
    term, kind, rest = parts[1], parts[2], parts[3:]
    if kind == 'loss':
        return '.'.join(['kd_losses', term] + rest)
    return '.'.join(['adapters', f'{term}_{rest[0]}'] + rest[1:])


def test_an_old_checkpoint_resumes_each_parameter_with_its_own_momentum(teacher_ckpt):
    """The old layout registered the KD parameters as kd_losses.* then adapters.*, after the
    student and the teacher; its optimizer state is indexed in that order. Reordered, every
    parameter of the model of now gets its own momentum buffer back (the teacher, not saved,
    keeps its place)."""
    from mmkd.models.distillers.terms import reorder_old_optimizer_state

    def trained_once():
        hint = distill_model_cfg(teacher_ckpt).kd_terms.hint  # 1x1 adapters, 32 -> 128
        model = build(teacher_ckpt, hint=hint, fgd=fgd_term())
        model.train()
        model.loss(*batch())  # the adapters are built at the first step
        wrapper = build_optim_wrapper(model, dict(optimizer=dict(type='SGD', lr=0.01,
                                                                 momentum=0.9)))
        return model, wrapper

    model, wrapper = trained_once()
    wrapper.update_params(model.parse_losses(model.loss(*batch()))[0])
    names = [n for n, _ in model.named_parameters()]
    kd = [n for n in names if n.startswith('kd_terms.')]
    assert any('.adapters.' in n for n in kd) and any('.loss.' in n for n in kd)
    old_order = ([n for n in names if not n.startswith('kd_terms.')]
                 + [n for n in kd if n.split('.')[2] == 'loss']
                 + [n for n in kd if n.split('.')[2] == 'adapters'])
    assert old_order != names
    new_state = wrapper.optimizer.state_dict()
    old_state = dict(
        state={i: new_state['state'][names.index(n)] for i, n in enumerate(old_order)
               if names.index(n) in new_state['state']},
        param_groups=[dict(new_state['param_groups'][0], params=list(range(len(names))))])
    saved = model.state_dict()  # no teacher: save_teacher=False
    assert not any(k.startswith('teacher.') for k in saved)
    old_keys = [k for k in saved if not k.startswith('kd_terms.')] + [
        old_name(n) for n in old_order if n.startswith('kd_terms.')]

    again, wrapper2 = trained_once()
    assert reorder_old_optimizer_state(old_state, wrapper2.optimizer, again, old_keys)
    wrapper2.optimizer.load_state_dict(old_state)
    params = dict(model.named_parameters())
    for name, p in again.named_parameters():
        mine = wrapper.optimizer.state.get(params[name], {}).get('momentum_buffer')
        theirs = wrapper2.optimizer.state.get(p, {}).get('momentum_buffer')
        assert (mine is None) == (theirs is None), name
        if mine is not None:
            assert torch.equal(mine, theirs), name
    # a checkpoint of now is left alone
    assert not reorder_old_optimizer_state(new_state, wrapper2.optimizer, again, list(saved))
