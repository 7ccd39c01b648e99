"""Per-instance features for relational KD: one row per GT box (detection) or per GT region
(segmentation), pooled from a feature map so that student and teacher rows are the same
instances."""
import torch
import torch.nn.functional as F
from mmcv.ops import roi_align


def box_features(feats, boxes, batch_input_shape, size=1):
    """RoIAlign of ``feats`` at ``boxes`` (average of bilinear samples, ``aligned=True``).

    Args:
        feats (Tensor): (N, C, h, w) one feature level of the padded batch.
        boxes (list[Tensor]): N tensors (k_i, 4), x1y1x2y2 in pixels of the padded input.
        batch_input_shape (tuple): (H, W) of the padded input; ``w / W`` is the level's scale.
        size (int): the pooled output is size x size. Defaults to 1 (one vector per box).

    Returns:
        Tensor: (K, C, size, size), K = sum of k_i, in the order of the images and their boxes.
    """
    rois = torch.cat([torch.cat([b.new_full((len(b), 1), i), b[:, :4]], 1)
                      for i, b in enumerate(boxes)]).to(feats)  # (K, 5): image index, box
    if len(rois) == 0:
        return feats.new_zeros(0, feats.shape[1], size, size) + feats.sum() * 0
    scale = feats.shape[-1] / batch_input_shape[-1]
    # mmcv's kernel reads ``feats`` as contiguous without checking (a channels-last teacher map
    # would give other values)
    return roi_align(feats.float().contiguous(), rois.float(), (size, size), scale, 0, 'avg',
                     True)


def region_features(feats, gt_seg, num_classes, ignore_index=255):
    """The mean of ``feats`` over each GT class region of each image.

    The one-hot GT is averaged down to the feature's H x W (``area``), so a class keeps a
    positive weight wherever it covers a pixel, at any feature resolution: student and teacher
    features of different sizes give the same regions.

    Args:
        feats (Tensor): (N, C, h, w) features.
        gt_seg (Tensor): (N, H, W) long labels, ``ignore_index`` on unlabelled pixels.
        num_classes (int): K.

    Returns:
        Tensor: (R, C), one row per (image, class) present in the GT, images in order and classes
        ascending within an image.
    """
    N, C, h, w = feats.shape
    valid = (gt_seg != ignore_index) & (gt_seg >= 0) & (gt_seg < num_classes)  # (N, H, W)
    onehot = F.one_hot(torch.where(valid, gt_seg, 0), num_classes) * valid[..., None]
    onehot = onehot.permute(0, 3, 1, 2).to(torch.promote_types(feats.dtype, torch.float32))
    present = onehot.flatten(2).sum(-1) > 0  # (N, K)
    weights = F.interpolate(onehot, size=(h, w), mode='area')  # (N, K, h, w)
    sums = torch.einsum('nchw,nkhw->nkc', feats.to(weights.dtype), weights)  # (N, K, C)
    area = weights.flatten(2).sum(-1)  # (N, K)
    return sums[present] / area[present][:, None]  # (R, C)
