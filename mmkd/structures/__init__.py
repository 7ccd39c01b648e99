from .masks import box_cell_ranges, fg_bg_masks, gt_foreground_mask

__all__ = ['box_cell_ranges', 'fg_bg_masks', 'gt_foreground_mask']
