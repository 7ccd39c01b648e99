"""Aligns a student feature map to the teacher's channels and H x W."""
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS


@MODELS.register_module()
class ConvAdapter(nn.Module):
    """``resize(conv(x))``: a convolution (optionally followed by a ReLU), then a bilinear resize
    (only when H x W differ at run time).

    By default the convolution is a 1x1 conv that exists only when the channel counts differ (a
    FitNet-style regressor). DeFeat's and FGFI's adaptation layer is a 3x3 conv applied whatever
    the channels: ``dict(type='mmkd.ConvAdapter', kernel_size=3, always=True)``.

    Args:
        in_channels (int): the student's channels Cs.
        out_channels (int): the teacher's channels Ct.
        kernel_size (int): odd; padding keeps H x W. Defaults to 1.
        always (bool): build the conv even when ``in_channels == out_channels``. Defaults to False.
        init_std (float, optional): initialise the conv weight from N(0, init_std^2) and its bias
            at 0 (DeFeat uses 1e-4). Defaults to PyTorch's own initialisation.
        relu (bool): a ReLU after the conv (FGFI's reference adaptation layer, with
            ``init_std=1e-4``). Defaults to False.
    """

    def __init__(self, in_channels, out_channels, kernel_size=1, always=False, init_std=None,
                 relu=False):
        super().__init__()
        if kernel_size % 2 != 1:
            raise ValueError(f'ConvAdapter: kernel_size={kernel_size}; use an odd size so the '
                             'padding keeps H x W.')
        if in_channels != out_channels or always:
            self.conv = nn.Conv2d(in_channels, out_channels, kernel_size,
                                  padding=kernel_size // 2)
            if init_std is not None:
                nn.init.normal_(self.conv.weight, std=init_std)
                nn.init.zeros_(self.conv.bias)
        else:
            self.conv = nn.Identity()
        if relu and isinstance(self.conv, nn.Identity):
            raise ValueError('ConvAdapter: relu=True needs a conv to follow; with equal channels '
                             'set always=True.')
        self.relu = nn.ReLU(inplace=True) if relu else nn.Identity()

    def forward(self, s_feat, size):
        """s_feat (N, Cs, h, w), size (H, W) -> (N, Ct, H, W)."""
        x = self.relu(self.conv(s_feat))
        if tuple(x.shape[-2:]) != tuple(size):
            x = F.interpolate(x, size=tuple(size), mode='bilinear', align_corners=False)
        return x
