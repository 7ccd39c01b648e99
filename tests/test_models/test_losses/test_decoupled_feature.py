import pytest
import torch

from mmkd.models.losses import DecoupledFeatureLoss
from mmkd.registry import MODELS

# N=1, C=2, H=1, W=2; the teacher is [1, 3] on both channels. Input 2 x 4: stride 2, the box
# [0, 0, 2, 2] covers cell (0, 0) only (both cell rules).
T_FEAT = torch.tensor([[1.0, 3.0], [1.0, 3.0]]).view(1, 2, 1, 2)
BOX = [torch.tensor([[0.0, 0.0, 2.0, 2.0]])]


def test_by_hand_one_level():
    """Student 0: squared error summed over channels is 2 on the fg cell, 18 on the bg cell;
    C = 2, N_fg = N_bg = 1: 3 * 2 / (2 * 2) + 12 * 18 / (2 * 2) = 55.5, either assignment."""
    s = torch.zeros(1, 2, 1, 2)
    for assign in ('level', 'all'):
        loss = DecoupledFeatureLoss(assign=assign)
        assert loss(s, T_FEAT, BOX, (2, 4)).item() == pytest.approx(55.5)
    half = MODELS.build(dict(type='mmkd.DecoupledFeatureLoss', fg_weight=1.0, bg_weight=0.0,
                             loss_weight=0.5))
    assert half(s, T_FEAT, BOX, (2, 4)).item() == pytest.approx(0.5 * 2 / 4)


def test_two_levels_each_box_on_its_own_level():
    """Input 128 x 128, C = 3; level 0 is 16 x 16 (stride 8), level 1 is 8 x 8 (stride 16).
    Small box [0, 0, 16, 16]: sqrt(17 * 17) / 56 < 1, level 0, cells 0..int(16/8)-1 = 0..1 (4).
    Big box [16, 16, 128, 128]: sqrt(113 * 113) / 56 = 2.02, level 1, cells 1..7 (49; 15 bg).
    Teacher 0 but 2 at level-0 cell (0, 0) (fg, squared error 3 * 4 = 12) and 1 at level-1 cell
    (0, 0) (bg there: the small box is not on level 1; squared error 3), student 0:
    level 0: fg 12 / (2 * 3 * 4) = 0.5, bg 0; level 1: fg 0, bg 3 / (2 * 3 * 15) = 1 / 30;
    mean over the 2 levels: (3 * 0.5 + 12 / 30) / 2 = 0.95."""
    t0, t1 = torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 8, 8)
    t0[..., 0, 0] = 2.0
    t1[..., 0, 0] = 1.0
    boxes = [torch.tensor([[0.0, 0.0, 16.0, 16.0], [16.0, 16.0, 128.0, 128.0]])]
    s = [torch.zeros_like(t0), torch.zeros_like(t1)]
    loss = DecoupledFeatureLoss()
    assert loss(s, [t0, t1], boxes, (128, 128)).item() == pytest.approx(0.95)
    # every box on every level (assign='all', FGD's cells): level 0: the small box's 4 cells and
    # the big box's 2..15 (196), (0, 0) fg: 12 / (2 * 3 * 200) = 0.01; level 1: the small box's
    # cell (0, 0) and the big box's 49: 3 / (2 * 3 * 50) = 0.01; (3 * 0.02) / 2
    every = DecoupledFeatureLoss(assign='all')
    assert every(s, [t0, t1], boxes, (128, 128)).item() == pytest.approx(3 * 0.02 / 2)


def test_counts_are_over_the_batch_and_empty_images_are_background():
    """A second image without boxes, teacher all ones: its 2 cells (2 each) join the background,
    N_bg = 3, C = 2: 3 * 2 / 4 + 12 * (18 + 2 + 2) / 12 = 23.5. A batch without any box:
    background only."""
    t = torch.cat([T_FEAT, torch.ones(1, 2, 1, 2)])
    s = torch.zeros_like(t)
    loss = DecoupledFeatureLoss()
    assert loss(s, t, BOX + [torch.zeros(0, 4)], (2, 4)).item() == pytest.approx(23.5)
    empty = [torch.zeros(0, 4), torch.zeros(0, 4)]
    assert loss(s, t, empty, (2, 4)).item() == pytest.approx(12 * 24 / 16)


def test_zero_when_equal_and_gradient_to_student_only():
    t = torch.randn(2, 4, 5, 5, requires_grad=True)
    boxes = [torch.tensor([[0.0, 0.0, 20.0, 12.0]]), torch.zeros(0, 4)]
    loss = DecoupledFeatureLoss()
    assert loss(t.detach().clone(), t, boxes, (40, 40)).item() == 0.0
    s = torch.randn(2, 4, 5, 5, requires_grad=True)
    loss(s, t, boxes, (40, 40)).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None


def test_errors_are_named():
    with pytest.raises(ValueError, match='DecoupledFeatureLoss'):
        DecoupledFeatureLoss()(torch.zeros(1, 3, 2, 2), torch.zeros(1, 4, 2, 2), BOX, (4, 4))
    with pytest.raises(ValueError, match=r"assign='fpn'.*\('level', 'all'\)"):
        DecoupledFeatureLoss(assign='fpn')


def test_demo_weights_keep_the_earlier_normalisation():
    """The demo configs' re-expressed weights: with assign='all', loss_weight w * C * L equals
    the earlier per-level w * (3 sum M sq / (2 N_fg) + 12 sum (1-M) sq / (2 N_bg)) summed over
    the L levels (here C = 8, L = 3)."""
    from mmkd.structures import gt_box_mask
    torch.manual_seed(0)
    shapes = [(8, 8), (4, 4), (2, 2)]
    s = [torch.randn(2, 8, *hw) for hw in shapes]
    t = [torch.randn(2, 8, *hw) for hw in shapes]
    boxes = [torch.tensor([[4.0, 8.0, 30.0, 40.0]]), torch.zeros(0, 4)]
    earlier = 0.
    for sf, tf in zip(s, t):
        m = gt_box_mask(boxes, (64, 64), tf.shape[-2:])
        sq = (sf - tf).pow(2).sum(dim=1)
        earlier = earlier + 3 * (sq * m).sum() / (2 * m.sum()) + \
            12 * (sq * (1 - m)).sum() / (2 * (1 - m).sum())
    now = DecoupledFeatureLoss(assign='all', loss_weight=2e-3 * 8 * 3)(s, t, boxes, (64, 64))
    assert now.item() == pytest.approx(2e-3 * earlier.item(), rel=1e-5)
