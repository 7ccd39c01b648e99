import math

import pytest
import torch

from mmkd.models.losses import FGDLoss, fgd_attention
from mmkd.registry import MODELS

# N=1, C=2, H=1, W=2; the teacher is [1, 3] on both channels, the student 0. Input 2 x 4, so the
# stride is 2 and the box [0, 0, 2, 2] overlaps cell (0, 0): with cells='covered', M_fg = [1, 0],
# M_bg = [0, 1].
T_FEAT = torch.tensor([[1.0, 3.0], [1.0, 3.0]]).view(1, 2, 1, 2)
BOX = [torch.tensor([[0.0, 0.0, 2.0, 2.0]])]
INPUT = (2, 4)


def fgd(**weights):
    kwargs = dict(temperature=1.0, alpha_fgd=0.0, beta_fgd=0.0, gamma_fgd=0.0, lambda_fgd=0.0,
                  cells='covered')
    kwargs.update(weights)
    return FGDLoss(student_channels=2, teacher_channels=2, **kwargs)


def test_attention_by_hand():
    """mean_C |t| = [1, 3]: A_S = 2 softmax([1, 3]) = [2/(1+e^2), 2e^2/(1+e^2)]; each channel's
    mean is 2, so A_C = 2 * [0.5, 0.5] = [1, 1]."""
    spatial, channel = fgd_attention(T_FEAT, 1.0)
    a = 2 / (1 + math.e ** 2)
    assert spatial.flatten().tolist() == pytest.approx([a, 2 - a], abs=1e-6)
    assert channel.flatten().tolist() == pytest.approx([1.0, 1.0], abs=1e-6)


def test_focal_and_attention_terms_by_hand():
    """diff^2 = t^2 = [1, 9] per channel; A_S = [0.238406, 1.761594], A_C = [1, 1].
    L_fg = 2 channels * 1 * 0.238406 * 1 = 0.476812; L_bg = 2 * 1.761594 * 9 = 31.708692;
    the student's attention is uniform [1, 1]: L_at = |1 - 0.238406| + |1 - 1.761594| = 1.523188.
    """
    s = torch.zeros(1, 2, 1, 2)
    assert fgd(alpha_fgd=1.0)(s, T_FEAT, BOX, INPUT).item() == pytest.approx(0.476812, abs=1e-5)
    assert fgd(beta_fgd=1.0)(s, T_FEAT, BOX, INPUT).item() == pytest.approx(31.708692, abs=1e-4)
    assert fgd(gamma_fgd=1.0)(s, T_FEAT, BOX, INPUT).item() == pytest.approx(1.523188, abs=1e-5)
    total = fgd(alpha_fgd=1.0, beta_fgd=1.0, gamma_fgd=1.0, loss_weight=0.5)(s, T_FEAT, BOX, INPUT)
    assert total.item() == pytest.approx(0.5 * 33.708692, abs=1e-4)


def test_reference_cells_by_hand():
    """The reference code's cells: [0, 0, 2, 2] at stride 2 spans columns floor(0) .. ceil(1) =
    0 .. 1 and rows 0 .. 1, 4 cells (the second row is off the 1 x 2 map): M_fg = [1/4, 1/4], no
    background. L_fg = 1/4 * (2 * 0.238406 * 1 + 2 * 1.761594 * 9) = 8.046376, L_bg = 0."""
    s = torch.zeros(1, 2, 1, 2)
    loss = fgd(alpha_fgd=1.0, beta_fgd=1.0, cells='reference')
    assert loss(s, T_FEAT, BOX, INPUT).item() == pytest.approx(8.046376, abs=1e-5)
    with pytest.raises(ValueError, match=r"FGDLoss: cells='all'"):
        fgd(cells='all')


def test_global_term_starts_as_plain_squared_error():
    """The context blocks' last conv starts at zero, so GC(x) = x: L_global = sum t^2 = 20."""
    s = torch.zeros(1, 2, 1, 2)
    assert fgd(lambda_fgd=1.0)(s, T_FEAT, BOX, INPUT).item() == pytest.approx(20.0)


def test_zero_when_equal_with_identical_context_blocks():
    loss = FGDLoss(student_channels=4, teacher_channels=4)
    torch.manual_seed(0)
    for p in loss.teacher_context.parameters():
        torch.nn.init.normal_(p)
    loss.student_context.load_state_dict(loss.teacher_context.state_dict())
    t = torch.randn(2, 4, 6, 6)
    boxes = [torch.tensor([[0.0, 0.0, 20.0, 20.0]]), torch.zeros(0, 4)]
    assert loss(t.clone(), t, boxes, (48, 48)).item() == pytest.approx(0.0, abs=1e-9)


def test_gradients_and_adapter_and_empty_gt():
    """Student 3 channels -> teacher 4 via FGD's own 1x1 conv; no GT boxes: the background
    term alone, finite; gradients reach the student, the conv and both context blocks."""
    loss = MODELS.build(dict(type='mmkd.FGDLoss', student_channels=3, teacher_channels=4))
    s = torch.randn(2, 3, 5, 5, requires_grad=True)
    t = torch.randn(2, 4, 5, 5, requires_grad=True)
    value = loss(s, t, [torch.zeros(0, 4), torch.zeros(0, 4)], (40, 40))
    assert torch.isfinite(value) and value.item() > 0
    value.backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    assert loss.align.weight.grad.abs().sum() > 0
    assert loss.student_context.transform[-1].weight.grad.abs().sum() > 0
    assert loss.teacher_context.transform[-1].weight.grad.abs().sum() > 0


def test_context_block_adds_one_global_vector():
    """GC(x) has x's shape, and GC(x) - x is the same vector at every position (a global
    context), different per sample."""
    from mmkd.models.losses.fgd import ContextBlock
    torch.manual_seed(0)
    block = ContextBlock(4)
    torch.nn.init.normal_(block.transform[-1].weight)
    x = torch.randn(2, 4, 5, 3)
    added = block(x) - x
    assert added.shape == x.shape
    assert torch.allclose(added, added[:, :, :1, :1].expand_as(added), atol=1e-6)
    assert not torch.allclose(added[0], added[1])
