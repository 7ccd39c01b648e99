from .instances import box_features, region_features
from .bins import distances_to_bins, rebin_distribution
from .masks import (VLR_MODES, anchor_imitation_mask, batch_foreground_masks, box_cell_ranges,
                    box_level_indices, diou, fg_bg_masks, gt_box_mask, gt_foreground_mask,
                    label_maps, level_assigned_box_masks, points_as_boxes, prior_gt_iou,
                    reference_diou, vlr_mask)

__all__ = ['anchor_imitation_mask', 'batch_foreground_masks', 'box_cell_ranges', 'box_features',
           'box_level_indices', 'level_assigned_box_masks',
           'fg_bg_masks', 'gt_box_mask', 'gt_foreground_mask', 'points_as_boxes', 'prior_gt_iou',
           'region_features', 'label_maps', 'diou', 'reference_diou', 'vlr_mask', 'VLR_MODES',
           'distances_to_bins', 'rebin_distribution']
