"""Mixed precision (KD terms in float32, a bfloat16 teacher) and NaN / Inf losses."""
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from mmkd.registry import MODELS
from tests.helpers import batch, distill_model_cfg


def record_kd_inputs(distiller):
    """Forward pre-hooks on the KD losses: the dtypes they receive and whether autocast is on
    inside them."""
    seen = []

    def hook(module, args):
        flat = [x for a in args for x in (a if isinstance(a, (list, tuple)) else [a])]
        dtypes = {a.dtype for a in flat if torch.is_tensor(a) and a.is_floating_point()}
        seen.append((dtypes, torch.is_autocast_enabled('cpu')))
    handles = [term.loss.register_forward_pre_hook(hook) for term in distiller.kd_terms.values()]
    return seen, handles


def output_dtype(module):
    dtypes = []
    handle = module.register_forward_hook(
        lambda m, a, out: dtypes.append((out[0] if isinstance(out, (list, tuple)) else out).dtype))
    return dtypes, handle


def test_kd_terms_run_in_float32_under_bf16_autocast(teacher_ckpt):
    distiller = MODELS.build(distill_model_cfg(teacher_ckpt)).train()
    seen, handles = record_kd_inputs(distiller)
    neck, neck_handle = output_dtype(distiller.student.neck)
    inputs, samples = batch()
    with torch.autocast('cpu', dtype=torch.bfloat16):
        losses = distiller.loss(inputs, samples)
    for h in handles + [neck_handle]:
        h.remove()
    assert neck == [torch.bfloat16]  # autocast was on for the student
    # hint once per level (two); cls_pos and cls once each, with their five levels at once
    assert len(seen) == 2 + 1 + 1
    assert all(dtypes == {torch.float32} and not autocast for dtypes, autocast in seen)
    assert all(losses[f'loss_kd_{t}'].dtype == torch.float32 for t in ('hint', 'cls_pos', 'cls'))


def test_teacher_in_bfloat16_gives_float32_terms_close_to_float32(teacher_ckpt):
    inputs, samples = batch()
    full = MODELS.build(distill_model_cfg(teacher_ckpt)).train()
    cfg = distill_model_cfg(teacher_ckpt)
    cfg.teacher.dtype = 'bfloat16'
    half = MODELS.build(cfg).train()
    half.load_state_dict(full.state_dict())
    teacher_out, handle = output_dtype(half.teacher.backbone)
    seen, handles = record_kd_inputs(half)
    torch.manual_seed(0)
    expected = full.loss(inputs, samples)
    torch.manual_seed(0)
    got = half.loss(inputs, samples)
    for h in handles + [handle]:
        h.remove()
    assert teacher_out == [torch.bfloat16]
    assert all(dtypes == {torch.float32} for dtypes, _ in seen)
    # bfloat16 keeps 8 bits of mantissa: the terms agree to about 1 %
    for term in ('hint', 'cls_pos', 'cls'):
        assert got[f'loss_kd_{term}'].item() == pytest.approx(
            expected[f'loss_kd_{term}'].item(), rel=0.02), term


def test_bad_teacher_dtype_is_named(teacher_ckpt):
    cfg = distill_model_cfg(teacher_ckpt)
    cfg.teacher.dtype = 'int8'
    with pytest.raises(ValueError, match=r"model\.teacher\.dtype='int8'; use one of "
                                         r"\['bfloat16', 'float16', 'float32'\]"):
        MODELS.build(cfg)


def sgd(distiller):
    return OptimWrapper(torch.optim.SGD(distiller.parameters(), lr=0.1))


def test_a_nan_kd_term_stops_the_run_naming_it_and_the_iteration(teacher_ckpt):
    distiller = MODELS.build(distill_model_cfg(teacher_ckpt)).train()
    distiller.kd_terms['cls'].kd_weight = float('nan')
    MessageHub.get_current_instance().update_info('iter', 7)
    inputs, samples = batch()
    data = dict(inputs=list(inputs), data_samples=samples)
    with pytest.raises(FloatingPointError, match=r"loss_kd_cls=nan at iteration 7 \(the "
                                                 r"student's step\).*nonfinite='skip'"):
        distiller.train_step(data, sgd(distiller))


def test_skip_mode_leaves_the_weights_and_counts(teacher_ckpt):
    cfg = distill_model_cfg(teacher_ckpt, nonfinite='skip')
    distiller = MODELS.build(cfg).train()
    distiller.kd_terms['hint'].kd_weight = float('inf')
    before = {k: v.clone() for k, v in distiller.student.state_dict().items()
              if v.is_floating_point() and 'running' not in k}
    inputs, samples = batch()
    wrapper = sgd(distiller)
    for _ in range(2):
        log_vars = distiller.train_step(dict(inputs=list(inputs), data_samples=samples), wrapper)
    assert distiller.skipped_steps == 2
    assert log_vars['loss_kd_hint'] == float('inf')
    after = distiller.student.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())
    # with a finite loss again, the step updates
    distiller.kd_terms['hint'].kd_weight = 1.0
    distiller.train_step(dict(inputs=list(inputs), data_samples=samples), wrapper)
    assert distiller.skipped_steps == 2
    assert not all(torch.equal(v, distiller.student.state_dict()[k]) for k, v in before.items())


def test_bad_nonfinite_value_is_named(teacher_ckpt):
    with pytest.raises(ValueError, match=r"model\.nonfinite='ignore'; use one of"):
        MODELS.build(distill_model_cfg(teacher_ckpt, nonfinite='ignore'))


def test_teacher_with_another_normalisation_sees_its_own_input(teacher_ckpt):
    """A teacher whose preprocessor uses other mean / std and BGR order: the distiller converts
    the student's batch, so the teacher's features equal those of its own preprocessing of the
    same images."""
    from mmengine.config import Config
    from tests.helpers import TEACHER_CFG
    teacher_model = Config.fromfile(TEACHER_CFG).model
    teacher_model.data_preprocessor.update(mean=[100.0, 110.0, 120.0], std=[50.0, 60.0, 70.0],
                                           bgr_to_rgb=False)
    cfg = distill_model_cfg(teacher_ckpt)
    cfg.teacher.config = teacher_model
    distiller = MODELS.build(cfg).eval()
    assert distiller.to_teacher.flip
    _, samples = batch()
    torch.manual_seed(3)
    raw = [torch.randint(0, 256, (3, 64, 64), dtype=torch.uint8) for _ in range(2)]
    s_in = distiller.data_preprocessor(dict(inputs=raw, data_samples=samples), False)['inputs']
    t_in = distiller.teacher.data_preprocessor(dict(inputs=raw, data_samples=samples),
                                               False)['inputs']
    assert not torch.allclose(s_in, t_in)
    got = distiller.teacher_knowledge(s_in)['t_neck']
    with torch.no_grad():
        own = distiller.teacher.extract_feat(t_in)
    for level, (a, b) in enumerate(zip(got, own)):
        assert torch.allclose(a, b, atol=1e-4, rtol=1e-4), level


@pytest.mark.parametrize('content, message', [
    (b'not a checkpoint at all', 'not a readable torch checkpoint'),
    (None, 'not a readable torch checkpoint'),  # a real checkpoint cut in half
])
def test_unreadable_teacher_checkpoint_is_named(teacher_ckpt, tmp_path, content, message):
    path = tmp_path / 'teacher.pth'
    data = open(teacher_ckpt, 'rb').read()
    path.write_bytes(content if content is not None else data[:len(data) // 2])
    with pytest.raises(RuntimeError, match=rf"teacher checkpoint.*{path.name}'.*{message}"):
        MODELS.build(distill_model_cfg(str(path)))


def test_a_batch_where_one_image_has_no_boxes(teacher_ckpt):
    """Image 0 has two GT boxes, image 1 none: every loss is finite and the student learns from
    image 0's positives."""
    distiller = MODELS.build(distill_model_cfg(teacher_ckpt)).train()
    inputs, samples = batch()
    samples[1].gt_instances = samples[1].gt_instances[:0]
    losses = distiller.loss(inputs, samples)
    total, log_vars = distiller.parse_losses(losses)
    assert all(torch.isfinite(v.detach()) for v in log_vars.values())
    assert log_vars['loss_kd_cls_pos'] > 0
    total.backward()
    assert distiller.student.bbox_head.retina_cls.weight.grad.abs().sum() > 0


def amp_wrappers(monkeypatch, params, scale):
    """mmengine's AmpOptimWrapper, one per parameter, with torch's CPU GradScaler at a fixed
    scale (mmengine builds the CUDA one, and only where a GPU is: the check is lifted here)."""
    import mmengine.optim.optimizer.amp_optimizer_wrapper as amp
    monkeypatch.setattr(amp, 'is_cuda_available', lambda: True)
    wrappers = []
    for p in params:
        w = amp.AmpOptimWrapper(optimizer=torch.optim.SGD([p], lr=0.1), loss_scale='dynamic')
        w.loss_scaler = torch.amp.GradScaler('cpu', init_scale=scale, growth_interval=10 ** 6)
        wrappers.append(w)
    return wrappers


def test_several_amp_wrappers_step_with_the_scale_the_loss_had(monkeypatch):
    """One backward under the first wrapper's scaler (loss x 1024), then both parts step: each
    must move by lr x its true gradient, -0.1 x 3 and -0.1 x 5, the second too (its own scaler
    never scaled the loss). An Inf gradient in the second part skips its step alone (torch's
    rule: each optimizer checks its own gradients) and halves the scale once."""
    from mmkd.models.distillers.base import step_together
    a, b = torch.nn.Parameter(torch.tensor(1.0)), torch.nn.Parameter(torch.tensor(2.0))
    first, second = amp_wrappers(monkeypatch, [a, b], 1024.0)
    first.backward(first.scale_loss(3 * a + 5 * b))
    assert float(a.grad) == 3 * 1024
    step_together(first, [first, second])
    assert float(a.detach()) == pytest.approx(1.0 - 0.3)
    assert float(b.detach()) == pytest.approx(2.0 - 0.5)
    assert a.grad is None or float(a.grad) == 0
    first.backward(first.scale_loss(3 * a + b * float('inf')))
    step_together(first, [first, second])
    assert float(a.detach()) == pytest.approx(0.7 - 0.3) and float(b.detach()) == 1.5
    assert first.loss_scaler.get_scale() == 512.0  # one update, halved once


def test_amp_and_plain_wrappers_in_one_backward_are_named(monkeypatch):
    from mmkd.models.distillers.base import step_together
    a, b = torch.nn.Parameter(torch.tensor(1.0)), torch.nn.Parameter(torch.tensor(2.0))
    (first,) = amp_wrappers(monkeypatch, [a], 8.0)
    plain = OptimWrapper(torch.optim.SGD([b], lr=0.1))
    first.backward(first.scale_loss(a + b))
    with pytest.raises(TypeError, match='OptimWrapper.*same type'):
        step_together(first, [first, plain])
