"""Hand-drawn cases for the GT-box masks (input 32 x 32, level 4 x 4: stride 8) and FGFI's
anchor imitation masks."""
import pytest
import torch

from mmkd.structures import (anchor_imitation_mask, box_level_indices, fg_bg_masks, gt_box_mask,
                             gt_foreground_mask, level_assigned_box_masks, points_as_boxes,
                             prior_gt_iou)
from tests.helpers import grid_anchors


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


def test_defeat_mask_is_binary_coverage_per_image():
    """Overlapping boxes, an empty image and a padded input: 1 wherever a box covers a cell."""
    boxes = [torch.tensor([[0.0, 0.0, 32.0, 16.0], [8.0, 0.0, 16.0, 8.0]]), torch.zeros(0, 4),
             torch.tensor([[16.0, 16.0, 20.0, 20.0]])]
    m = gt_box_mask(boxes, (32, 32), (4, 4))
    expected = torch.zeros(3, 4, 4)
    expected[0, 0:2, :] = 1
    expected[2, 2, 2] = 1
    assert torch.equal(m, expected)


def test_prior_gt_iou_by_hand():
    """[0,0,16,16] vs [8,0,24,16]: intersection 128, union 384: 1/3; disjoint: 0."""
    iou = prior_gt_iou(torch.tensor([[0.0, 0.0, 16.0, 16.0]]),
                       torch.tensor([[8.0, 0.0, 24.0, 16.0], [20.0, 20.0, 30.0, 30.0]]))
    assert iou.flatten().tolist() == pytest.approx([1 / 3, 0.0])


def test_imitation_mask_box_on_one_anchor_and_box_over_two():
    """Level 2 x 2, stride 16, one 16 x 16 anchor per cell. [0,0,16,16] is anchor (0,0) exactly
    (IoU 1, the others 0): only (0,0). [0,0,32,16] overlaps anchors (0,0) and (0,1) with IoU
    256/512 = 0.5 each, above 0.5 x 0.5: both."""
    priors = [grid_anchors(2, 16, [16])]
    one = anchor_imitation_mask(priors, [torch.tensor([[0.0, 0.0, 16.0, 16.0]])], [(2, 2)])[0]
    assert torch.equal(one, torch.tensor([[[1.0, 0.0], [0.0, 0.0]]]))
    two = anchor_imitation_mask(priors, [torch.tensor([[0.0, 0.0, 32.0, 16.0]])], [(2, 2)])[0]
    assert torch.equal(two, torch.tensor([[[1.0, 1.0], [0.0, 0.0]]]))


def test_imitation_mask_threshold_is_relative_to_the_best_anchor():
    """[0,0,24,16] overlaps anchor (0,0) with IoU 256/384 = 2/3 and (0,1) with 128/512 = 1/4.
    psi = 0.5: threshold 1/3, only (0,0); psi = 0.3: threshold 0.2, both."""
    priors = [grid_anchors(2, 16, [16])]
    box = [torch.tensor([[0.0, 0.0, 24.0, 16.0]])]
    assert torch.equal(anchor_imitation_mask(priors, box, [(2, 2)], 0.5)[0],
                       torch.tensor([[[1.0, 0.0], [0.0, 0.0]]]))
    assert torch.equal(anchor_imitation_mask(priors, box, [(2, 2)], 0.3)[0],
                       torch.tensor([[[1.0, 1.0], [0.0, 0.0]]]))


def test_imitation_mask_best_iou_is_over_all_levels():
    """Level 0: 4 x 4, stride 8, 8 x 8 anchors; level 1: 2 x 2, stride 16, 16 x 16 anchors.
    [0,0,16,16] is a level-1 anchor (IoU 1); the level-0 anchors inside it reach only 1/4, below
    0.5: level 1 alone. [8,8,16,16] is the level-0 anchor (1,1); the level-1 anchor reaches 1/4:
    level 0 alone."""
    priors = [grid_anchors(4, 8, [8]), grid_anchors(2, 16, [16])]
    boxes = [torch.tensor([[0.0, 0.0, 16.0, 16.0]]), torch.tensor([[8.0, 8.0, 16.0, 16.0]])]
    level0, level1 = anchor_imitation_mask(priors, boxes, [(4, 4), (2, 2)])
    assert torch.equal(level0[0], torch.zeros(4, 4))
    assert torch.equal(level1[0], torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    expected = torch.zeros(4, 4)
    expected[1, 1] = 1
    assert torch.equal(level0[1], expected)
    assert torch.equal(level1[1], torch.zeros(2, 2))


def test_imitation_mask_several_anchors_per_location():
    """Two anchors per location (16 and 8 wide), location-major. [4,4,12,12] is the small anchor
    of location (0,0): that location, not location (0,1) (the second prior in the list)."""
    priors = [grid_anchors(2, 16, [16, 8])]
    m = anchor_imitation_mask(priors, [torch.tensor([[4.0, 4.0, 12.0, 12.0]])], [(2, 2)])[0]
    assert torch.equal(m, torch.tensor([[[1.0, 0.0], [0.0, 0.0]]]))


def test_imitation_mask_empty_gt_and_flip():
    priors = [grid_anchors(4, 8, [8, 16])]
    boxes = torch.tensor([[1.0, 3.0, 13.0, 9.0], [18.0, 20.0, 31.0, 30.0]])
    flipped = boxes[:, [2, 1, 0, 3]].clone()
    flipped[:, [0, 2]] = 32 - flipped[:, [0, 2]]
    m = anchor_imitation_mask(priors, [boxes, flipped, torch.zeros(0, 4)], [(4, 4)])[0]
    assert m[0].sum() > 0
    assert torch.equal(m[1], m[0].flip(-1))
    assert torch.equal(m[2], torch.zeros(4, 4))


def test_imitation_mask_rejects_priors_that_do_not_fill_the_level():
    with pytest.raises(ValueError, match='5 priors do not fill a 2x2 level'):
        anchor_imitation_mask([torch.zeros(5, 4)], [torch.zeros(0, 4)], [(2, 2)])


def test_points_as_boxes():
    """Point (8, 8) of stride 8 with scale 2 stands for [0, 0, 16, 16]."""
    boxes = points_as_boxes(torch.tensor([[8.0, 8.0], [20.0, 4.0]]),
                            torch.tensor([[8.0, 8.0], [4.0, 4.0]]), scale=2)
    assert boxes.tolist() == [[0.0, 0.0, 16.0, 16.0], [16.0, 0.0, 24.0, 8.0]]


def test_defeat_level_of_a_box():
    """floor(log2(sqrt((w + 1)(h + 1)) / 56)): a 111 x 111 box has sqrt = 112 = 2 x 56, level 1;
    110 x 110 stays on level 0; 447 x 447 (448 = 8 x 56) is level 3, clipped to 2 of 3 levels."""
    boxes = torch.tensor([[0.0, 0.0, 111.0, 111.0], [0.0, 0.0, 110.0, 110.0],
                          [0.0, 0.0, 447.0, 447.0]])
    assert box_level_indices(boxes, 5).tolist() == [1, 0, 3]
    assert box_level_indices(boxes, 3).tolist() == [1, 0, 2]


def test_defeat_cells_and_levels():
    """Input 32 x 32, levels 4 x 4 (stride 8) and 2 x 2 (stride 16), both boxes on level 0.
    [8, 8, 25, 25]: cells int(8/8)=1 .. int(25/8)-1=2 (FGD's rule would reach 3);
    [9, 17, 14, 23]: columns 1 .. int(14/8)-1=0 coincide at 1, rows 2 .. 1 at 2: one cell.
    A tall thin box [17, 0, 20, 32] (columns 2 .. 1 empty, rows 0 .. 3) is the reference code's
    single cell (0, 2), not a column."""
    boxes = [torch.tensor([[8.0, 8.0, 25.0, 25.0]]),
             torch.tensor([[9.0, 17.0, 14.0, 23.0], [17.0, 0.0, 20.0, 32.0]])]
    level0, level1 = level_assigned_box_masks(boxes, (32, 32), [(4, 4), (2, 2)])
    expected = torch.zeros(2, 4, 4)
    expected[0, 1:3, 1:3] = 1.0
    expected[1, 2, 1] = 1.0
    expected[1, 0, 2] = 1.0
    assert torch.equal(level0, expected)
    assert torch.equal(level1, torch.zeros(2, 2, 2))


def test_fgd_reference_cells_of_an_8px_box_at_stride_8():
    """[8, 8, 16, 16] at stride 8: the reference code's cells floor(1) .. ceil(2) = 1 .. 2 on both
    axes, 2 x 2 cells of 1/4; the covered cells are (1, 1) alone, at 1. A box reaching the
    border keeps its unclipped count: [16, 16, 32, 32] spans 2 .. 4, 3 x 3 (1/9) on the 2 x 2 cells
    of the map."""
    box = torch.tensor([[8.0, 8.0, 16.0, 16.0]])
    expected = torch.zeros(4, 4)
    expected[1:3, 1:3] = 0.25
    assert torch.equal(gt_foreground_mask(box, (32, 32), (4, 4), cells='reference'), expected)
    covered = torch.zeros(4, 4)
    covered[1, 1] = 1.0
    assert torch.equal(gt_foreground_mask(box, (32, 32), (4, 4)), covered)
    border = gt_foreground_mask(torch.tensor([[16.0, 16.0, 32.0, 32.0]]), (32, 32), (4, 4),
                                cells='reference')
    expected = torch.zeros(4, 4)
    expected[2:, 2:] = 1 / 9
    assert torch.allclose(border, expected)
