"""The discriminator of SKD's holistic term (Liu et al., "Structured Knowledge Distillation for
Semantic Segmentation", CVPR 2019, arXiv:1903.04197, Sec. 3.2): a small fully convolutional
Wasserstein critic with spectral normalisation and self-attention, after SAGAN (Zhang et al.,
ICML 2019), that scores a whole segmentation map (optionally with its image)."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.parametrizations import spectral_norm

from mmkd.registry import MODELS


class SelfAttention(nn.Module):
    """SAGAN's attention block: ``x + gamma * V softmax(Q^T K)``, gamma starting at 0 so the block
    starts as the identity; Q and K have C / 8 channels. ``spectral=False`` leaves the 1x1 convs
    without spectral norm (SKD's reference ``Self_Attn``)."""

    def __init__(self, channels, spectral=True):
        super().__init__()
        inner = max(channels // 8, 1)
        norm = spectral_norm if spectral else (lambda conv: conv)
        self.query = norm(nn.Conv2d(channels, inner, 1))
        self.key = norm(nn.Conv2d(channels, inner, 1))
        self.value = norm(nn.Conv2d(channels, channels, 1))
        self.gamma = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        N, C, H, W = x.shape
        q = self.query(x).flatten(2)                                    # (N, C', HW)
        k = self.key(x).flatten(2)                                      # (N, C', HW)
        attn = torch.softmax(q.transpose(1, 2) @ k, dim=-1)            # (N, HW, HW)
        out = (self.value(x).flatten(2) @ attn.transpose(1, 2)).view(N, C, H, W)
        return x + self.gamma * out


@MODELS.register_module()
class SegDiscriminator(nn.Module):
    """Scores segmentation maps: one real number per image, higher for maps that look like the
    teacher's.

    ``num_layers`` 4x4 stride-2 convolutions (LeakyReLU 0.1), channels doubling from
    ``base_channels``, self-attention after the last two, a 3x3 convolution to one channel, and the
    mean over the remaining locations. Every convolution is spectrally normalised. A stride-2 layer
    is skipped once the map is down to 2 x 2, so small score maps (1/8 of a 160-pixel input) work.

    Args:
        num_classes (int): channels of the score maps it reads (the segmentor's classes).
        with_image (bool): also read the input image, resized to the maps' H x W and concatenated
            (the paper's conditional variant). Defaults to False.
        base_channels (int): channels of the first layer. Defaults to 64 (SKD's D).
        num_layers (int): stride-2 layers. Defaults to 4.
        self_attention (bool): Defaults to True (SKD's D, after SAGAN).

    Inputs: ``maps`` (N, num_classes, H, W) class probabilities; ``img`` (N, 3, H', W') when
    ``with_image``. Output: (N,) scores.
    """

    def __init__(self, *, num_classes, with_image=False, base_channels=64, num_layers=4,
                 self_attention=True):
        super().__init__()
        self.num_classes = num_classes
        self.with_image = with_image
        channels = num_classes + (3 if with_image else 0)
        self.layers = nn.ModuleList()
        for i in range(num_layers):
            out = base_channels * 2 ** i
            block = [spectral_norm(nn.Conv2d(channels, out, 4, stride=2, padding=1)),
                     nn.LeakyReLU(0.1)]
            if self_attention and i >= num_layers - 2:
                block.append(SelfAttention(out))
            self.layers.append(nn.Sequential(*block))
            channels = out
        self.last = spectral_norm(nn.Conv2d(channels, 1, 3, padding=1))

    def forward(self, maps, img=None):
        if maps.dim() != 4 or maps.shape[1] != self.num_classes:
            raise ValueError(f'SegDiscriminator(num_classes={self.num_classes}) got maps of shape '
                             f'{tuple(maps.shape)}; set num_classes to the segmentor\'s classes.')
        x = maps
        if self.with_image:
            if img is None:
                raise ValueError('SegDiscriminator(with_image=True) needs the image: add '
                                 "'img' to the adversarial term's inputs.")
            img = F.interpolate(img.to(maps.dtype), size=maps.shape[-2:], mode='bilinear',
                                align_corners=False)
            x = torch.cat([maps, img], dim=1)
        for conv, *rest in self.layers:
            if min(x.shape[-2:]) > 2:
                x = conv(x)
            else:  # too small to halve again: the same filters at stride 1
                x = F.conv2d(F.pad(x, (1, 2, 1, 2)), conv.weight, conv.bias)
            for module in rest:
                x = module(x)
        return self.last(x).mean(dim=(1, 2, 3))
