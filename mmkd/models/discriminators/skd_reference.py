"""The discriminator of SKD's reference code (irfanICMLL/structure_knowledge_distillation,
``networks/sagan_models.py``), as a selectable alternative to :class:`SegDiscriminator`: the
holistic term of the Cityscapes config reproduces the reference run with it."""
import torch.nn as nn
from torch.nn.utils.parametrizations import spectral_norm

from mmkd.registry import MODELS
from .seg_discriminator import SelfAttention


@MODELS.register_module()
class SKDReferenceDiscriminator(nn.Module):
    """SKD's reference critic: ``BatchNorm2d`` on the input maps (the reference feeds raw
    logits), four spectrally normalised 4x4 stride-2 convolutions (64, 128, 256, 512 channels,
    LeakyReLU 0.1), plain self-attention after the third and the fourth, and a 4x4 valid
    convolution to one channel without spectral norm. On 64 x 64 maps (a 512 crop at 1/8) the
    output is 1 x 1; on larger maps the scores of the locations are averaged.

    The holistic term with this critic, as the reference run:
    ``HolisticAdversarialLoss(maps='logits', disc_weight=0.1)``. Its gradient penalty is taken
    with the BatchNorm on its running statistics (mmkd's fix: a batch-statistics critic makes
    each sample's gradient depend on the others, which WGAN-GP's penalty assumes it does not).

    Args:
        num_classes (int): channels of the maps (the segmentor's classes).
        with_image (bool): must be False; the reference critic reads the maps alone.
        base_channels (int): Defaults to 64 (the reference ``adv-conv-dim``).

    Inputs: ``maps`` (N, num_classes, H, W) with H, W >= 64. Output: (N,) scores.
    """

    MIN_SIZE = 64

    def __init__(self, *, num_classes, with_image=False, base_channels=64):
        super().__init__()
        if with_image:
            raise ValueError("SKDReferenceDiscriminator reads the maps alone: remove 'img' from "
                             "the adversarial term's inputs, or use mmkd.SegDiscriminator for "
                             'the image-conditioned critic.')
        self.num_classes = num_classes
        self.input_norm = nn.BatchNorm2d(num_classes)
        layers, channels = [], num_classes
        for i in range(4):
            out = base_channels * 2 ** i
            layers += [spectral_norm(nn.Conv2d(channels, out, 4, stride=2, padding=1)),
                       nn.LeakyReLU(0.1)]
            if i >= 2:
                layers.append(SelfAttention(out, spectral=False))
            channels = out
        self.body = nn.Sequential(*layers)
        self.last = nn.Conv2d(channels, 1, 4)

    def forward(self, maps, img=None):
        if maps.dim() != 4 or maps.shape[1] != self.num_classes:
            raise ValueError(f'SKDReferenceDiscriminator(num_classes={self.num_classes}) got '
                             f'maps of shape {tuple(maps.shape)}; set num_classes to the '
                             "segmentor's classes.")
        if min(maps.shape[-2:]) < self.MIN_SIZE:
            raise ValueError(f'SKDReferenceDiscriminator needs maps of at least '
                             f'{self.MIN_SIZE} x {self.MIN_SIZE} (four halvings, then a 4 x 4 '
                             f'valid conv); got {tuple(maps.shape[-2:])}. Use larger crops or '
                             'mmkd.SegDiscriminator.')
        return self.last(self.body(self.input_norm(maps))).mean(dim=(1, 2, 3))
