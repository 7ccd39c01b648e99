"""Af-DCD: Fan et al., "Augmentation-free Dense Contrastive Knowledge Distillation for Efficient
Semantic Segmentation", NeurIPS 2023, arXiv:2312.04168. Reference code: github.com/OSVAI/Af-DCD
(``losses/ocmgd.py``, ``OmniContrastiveFeatureLoss``; ``train_ocmgd.py``).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from mmkd.registry import MODELS
from .mgd import generation_error, random_keep_mask
from .utils import check_choice, check_positive


def centre_keep_mask(feat):
    """A (N, 1, H, W) mask that drops the centre block [H/3, 2H/3) x [W/3, 2W/3) (integer
    division) and keeps the rest: the reference code's ``rand_mask=False``."""
    N, _, H, W = feat.shape
    keep = feat.new_ones((N, 1, H, W))
    keep[:, :, H // 3:2 * H // 3, W // 3:2 * W // 3] = 0
    return keep


def channel_group_tokens(x, patch, groups):
    """(N, C, H, W) -> (N * num_patches, P * M, C / M): each patch of ``patch`` = (p_h, p_w)
    positions (P = p_h p_w) becomes P x M tokens, one per position and channel group, numbered
    position-major (token k is position k // M, group k % M)."""
    N, C, H, W = x.shape
    ph, pw = patch
    x = x.reshape(N, groups, C // groups, H // ph, ph, W // pw, pw)
    # -> (N, H/ph, W/pw, ph, pw, groups, C/groups)
    x = x.permute(0, 3, 5, 4, 6, 1, 2)
    return x.reshape(-1, ph * pw * groups, C // groups)


def omni_contrastive(s_feat, t_feat, groups=16, patch=(4, 4), pool=4, temperature=0.07):
    """Af-DCD's omni-contrastive loss, the reference code's normalisation::

        both maps max-pooled (kernel = stride = pool), cut into patches of P positions and the
        channels into M groups: P x M tokens per patch of C / M dimensions each
        sim(a, b) = -||a - b||_1
        each student token: its positive is the teacher's token of the same position and group,
        its negatives the teacher's tokens of the other groups (at every position of the patch)
        loss = sum over tokens of CE([sim_pos, sim_negs] / tau, 0) / (H' W') / N

    (H' x W' the pooled size; the sum over the 16 groups of each position makes the value M
    times a mean over the tokens).

    Args:
        s_feat (Tensor): (N, C, H, W) the student's feature (the reference: its generated one).
        t_feat (Tensor): (N, C, H, W) the teacher's; no gradient reaches it.
        groups (int): M, divides C. patch (tuple): (p_h, p_w), divide the pooled H', W'.
        pool (int): the max-pooling kernel and stride; 1 for none.
        temperature (float): tau.

    Returns:
        Tensor: a scalar.
    """
    t_feat = t_feat.detach()
    if pool > 1:
        s_feat, t_feat = F.max_pool2d(s_feat, pool), F.max_pool2d(t_feat, pool)
    N, C, H, W = s_feat.shape
    s_tok = channel_group_tokens(s_feat, patch, groups)
    t_tok = channel_group_tokens(t_feat, patch, groups)
    sim = -torch.cdist(s_tok, t_tok, p=1) / temperature  # (B', P M, P M)
    group = torch.arange(s_tok.shape[1], device=s_feat.device) % groups
    other = group[:, None] != group[None, :]  # the negatives of each token
    positive = sim.diagonal(dim1=1, dim2=2)
    negatives = sim.masked_fill(~other, float('-inf'))
    logits = torch.cat([positive[..., None], negatives], dim=-1)
    ce = torch.logsumexp(logits, dim=-1) - positive
    return ce.sum() / (H * W) / N


class EnhancedProjector(nn.Module):
    """The reference code's ``enhance_projector``: x1 = ReLU(conv3x3(x)), x2 = ReLU(conv3x3(x1)),
    out = (conv3x3(x1) + conv3x3(x2)) / 2, all at ``channels``."""

    def __init__(self, channels):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1),
                                    nn.ReLU(inplace=True))
        self.block2 = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1),
                                    nn.ReLU(inplace=True))
        self.out1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.out2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x):
        x1 = self.block1(x)
        x2 = self.block2(x1)
        return (self.out1(x1) + self.out2(x2)) / 2


MASKS = ('random', 'centre')
PROJECTORS = ('plain', 'enhanced')


@MODELS.register_module()
class AfDCDLoss(nn.Module):
    r"""Augmentation-free dense contrastive distillation of one feature map (the backbone's last
    stage in the paper).

    The student's feature is aligned to the teacher's channels (1x1 conv, when they differ),
    masked (each position zeroed with probability ``mask_ratio``, or the centre block), and
    projected (``plain``: conv3x3 -> ReLU -> conv3x3; ``enhanced``: :class:`EnhancedProjector`)
    to G. Two losses on G:

    .. math:: L = w \Big(\lambda_{fd} \frac{1}{N} \sum (G - F^t)^2 + \lambda_{ctr}
              L_{omni}(G, F^t)\Big)

    the masked feature mimicking of MGD, and the omni-contrastive loss of
    :func:`omni_contrastive` (positives: the teacher's token of the same position and channel
    group; negatives: the teacher's tokens of the other groups in the same patch).

    Args:
        student_channels (int), teacher_channels (int): the two features' channels.
        fd_weight (float): lambda_fd. Defaults to 2e-6 (the reference Cityscapes scripts;
            4e-5 is the argparse default).
        ctr_weight (float): lambda_ctr. Defaults to 0.005 (the Cityscapes scripts).
        temperature (float): tau. Defaults to 0.07.
        groups (int): M channel groups. Defaults to 16.
        patch (tuple): the patch of positions. Defaults to (4, 4).
        pool (int): max-pooling before the contrast. Defaults to 4 (1 for none).
        mask (str): ``'random'`` (default) or ``'centre'``.
        mask_ratio (float): the share of positions masked. Defaults to 0.75.
        projector (str): ``'enhanced'`` (default) or ``'plain'``. See ``docs/af_dcd.md`` on
            what the reference scripts ask for and what they get.
        loss_weight (float): Defaults to 1.0.

    Example config term::

        af_dcd=dict(loss=dict(type='mmkd.AfDCDLoss', student_channels=512,
                              teacher_channels=2048),
                    inputs=['s_backbone', 't_backbone'], levels=[3])
    """

    needs_adapter = False

    def __init__(self, *, student_channels, teacher_channels, fd_weight=2e-6, ctr_weight=0.005,
                 temperature=0.07, groups=16, patch=(4, 4), pool=4, mask='random',
                 mask_ratio=0.75, projector='enhanced', loss_weight=1.0):
        super().__init__()
        check_positive('AfDCDLoss', student_channels=student_channels,
                       teacher_channels=teacher_channels, temperature=temperature,
                       groups=groups, pool=pool)
        check_choice('AfDCDLoss', 'mask', mask, MASKS)
        check_choice('AfDCDLoss', 'projector', projector, PROJECTORS)
        if teacher_channels % groups:
            raise ValueError(f'AfDCDLoss: groups={groups} must divide teacher_channels='
                             f'{teacher_channels} (the channel groups of the tokens).')
        if not 0 <= mask_ratio < 1:
            raise ValueError(f'AfDCDLoss: mask_ratio={mask_ratio} is the share of positions '
                             'masked; use a value in [0, 1).')
        if len(tuple(patch)) != 2 or min(patch) < 1:
            raise ValueError(f'AfDCDLoss: patch={patch} must be two positive sizes (h, w).')
        # read by the distiller, which checks them against the models at build time
        self.student_channels, self.teacher_channels = student_channels, teacher_channels
        self.fd_weight, self.ctr_weight = fd_weight, ctr_weight
        self.temperature, self.groups, self.patch, self.pool = temperature, groups, \
            tuple(patch), pool
        self.mask, self.mask_ratio = mask, mask_ratio
        self.loss_weight = loss_weight
        self.align = (nn.Conv2d(student_channels, teacher_channels, 1)
                      if student_channels != teacher_channels else nn.Identity())
        self.projector = EnhancedProjector(teacher_channels) if projector == 'enhanced' else \
            nn.Sequential(nn.Conv2d(teacher_channels, teacher_channels, 3, padding=1),
                          nn.ReLU(inplace=True),
                          nn.Conv2d(teacher_channels, teacher_channels, 3, padding=1))

    def check_sizes(self, s_feat, t_feat):
        if s_feat.shape[1] != t_feat.shape[1]:
            raise ValueError(f'AfDCDLoss: teacher_channels={s_feat.shape[1]} but the teacher\'s '
                             f'feature has {t_feat.shape[1]} channels; set teacher_channels to '
                             'it.')
        if s_feat.shape != t_feat.shape:
            raise ValueError(
                f'AfDCDLoss: student {tuple(s_feat.shape)} and teacher {tuple(t_feat.shape)} '
                "differ after the channel alignment; pair levels of the same stride (the term's "
                'levels / teacher_levels).')
        H, W = (size // self.pool for size in s_feat.shape[-2:])
        if H < self.patch[0] or W < self.patch[1] or H % self.patch[0] or W % self.patch[1]:
            raise ValueError(
                f'AfDCDLoss: the {s_feat.shape[-2]}x{s_feat.shape[-1]} feature max-pooled by '
                f'pool={self.pool} is {H}x{W}, which patch={self.patch} does not tile; choose a '
                'pool and patch that divide it (the reference: 64x128, pool 4, patch 4x4).')

    def forward(self, s_feat, t_feat, keep=None):
        """s_feat (N, Cs, H, W), t_feat (N, Ct, H, W); ``keep`` (N, 1, H, W) replaces the mask
        (tests). Returns a scalar."""
        if s_feat.dim() != 4 or s_feat.shape[1] != self.student_channels:
            raise ValueError(f'AfDCDLoss: expects the student\'s (N, {self.student_channels}, H, '
                             f'W) feature (student_channels); got {tuple(s_feat.shape)}.')
        s_feat = self.align(s_feat)
        self.check_sizes(s_feat, t_feat)
        if keep is None:
            keep = random_keep_mask(s_feat, self.mask_ratio) if self.mask == 'random' else \
                centre_keep_mask(s_feat)
        generated = self.projector(s_feat * keep)
        fd = generation_error(generated, t_feat)
        ctr = omni_contrastive(generated, t_feat, self.groups, self.patch, self.pool,
                               self.temperature)
        return self.loss_weight * (self.fd_weight * fd + self.ctr_weight * ctr)
