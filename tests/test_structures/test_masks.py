"""Hand-drawn cases for the GT-box masks. Input 32 x 32, level 4 x 4: stride 8."""
import torch

from mmkd.structures import fg_bg_masks, gt_foreground_mask


def mask(boxes, input_shape=(32, 32), feat_shape=(4, 4)):
    return gt_foreground_mask(torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                              input_shape, feat_shape)


def test_box_exactly_covering_cells():
    """[8, 8, 24, 24]: columns floor(8/8)=1 .. ceil(24/8)-1=2, rows alike: 4 cells of 1/4."""
    expected = torch.zeros(4, 4)
    expected[1:3, 1:3] = 0.25
    assert torch.equal(mask([[8, 8, 24, 24]]), expected)


def test_box_inside_one_cell():
    """[9, 17, 14, 23] lies in column 1, row 2: one cell of value 1."""
    expected = torch.zeros(4, 4)
    expected[2, 1] = 1.0
    assert torch.equal(mask([[9, 17, 14, 23]]), expected)


def test_overlapping_boxes_take_the_max():
    """A big box [0, 0, 32, 16] (8 cells, 1/8) and a small one [8, 0, 16, 8] (1 cell, 1)."""
    expected = torch.zeros(4, 4)
    expected[0:2, :] = 0.125
    expected[0, 1] = 1.0
    assert torch.equal(mask([[0, 0, 32, 16], [8, 0, 16, 8]]), expected)
    assert torch.equal(mask([[8, 0, 16, 8], [0, 0, 32, 16]]), expected)


def test_empty_gt_all_background():
    fg, bg = fg_bg_masks([torch.zeros(0, 4)], (32, 32), (4, 4))
    assert torch.equal(fg, torch.zeros(1, 4, 4))
    assert torch.allclose(bg, torch.full((1, 4, 4), 1 / 16))


def test_padded_input_uses_the_padded_stride():
    """A 20 x 20 image padded to 32 x 32: the level is still 4 x 4 with stride 8, so the box
    [16, 16, 20, 20] is the single cell (2, 2) — not (3, 3) as stride 20 / 4 = 5 would give."""
    expected = torch.zeros(4, 4)
    expected[2, 2] = 1.0
    assert torch.equal(mask([[16, 16, 20, 20]], input_shape=(32, 32)), expected)


def test_flipped_image_gives_the_mirrored_mask():
    """Flipping the input horizontally maps x to 32 - x; the mask is mirrored."""
    boxes = torch.tensor([[1.0, 3.0, 13.0, 9.0], [20.0, 20.0, 31.0, 30.0]])
    flipped = boxes[:, [2, 1, 0, 3]].clone()
    flipped[:, [0, 2]] = 32 - flipped[:, [0, 2]]
    assert torch.equal(gt_foreground_mask(flipped, (32, 32), (4, 4)),
                       gt_foreground_mask(boxes, (32, 32), (4, 4)).flip(-1))


def test_background_mask_sums_to_one_per_image():
    """The 4-cell box leaves 12 background cells of 1/12 each."""
    fg, bg = fg_bg_masks([torch.tensor([[8.0, 8.0, 24.0, 24.0]])], (32, 32), (4, 4))
    assert torch.equal(bg[0][fg[0] > 0], torch.zeros(4))
    assert torch.allclose(bg[0][fg[0] == 0], torch.full((12,), 1 / 12))
