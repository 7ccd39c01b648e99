"""Aligns a student feature map to the teacher's channels and H x W."""
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS


@MODELS.register_module()
class ConvAdapter(nn.Module):
    """``resize(conv1x1(x))``: a 1x1 conv (only when the channel counts differ) then a bilinear
    resize (only when H x W differ at run time).

    Args:
        in_channels (int): the student's channels Cs.
        out_channels (int): the teacher's channels Ct.
    """

    def __init__(self, in_channels, out_channels):
        super().__init__()
        self.conv = (nn.Conv2d(in_channels, out_channels, kernel_size=1)
                     if in_channels != out_channels else nn.Identity())

    def forward(self, s_feat, size):
        """s_feat (N, Cs, h, w), size (H, W) -> (N, Ct, H, W)."""
        x = self.conv(s_feat)
        if tuple(x.shape[-2:]) != tuple(size):
            x = F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)
        return x
