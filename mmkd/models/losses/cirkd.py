"""CIRKD: Yang et al., "Cross-Image Relational Knowledge Distillation for Semantic Segmentation",
CVPR 2022, arXiv:2204.06986. Reference code: github.com/winycg/CIRKD at its CVPR 2022 state
(``losses/cirkd_mini_batch.py``, ``losses/cirkd_memory.py``, ``train_cirkd.py``; the repository's
main branch has since moved to CIRKDv2).

Two terms, both on the decode head's last feature (the classifier's input):

- :class:`CrossImagePixelRelationLoss`, the mini-batch pixel-to-pixel relations: the similarity
  of every pixel of image i to every pixel of image j, for every ordered pair (i, j) of the batch;
- :class:`CIRKDMemoryLoss`, the memory pixel-to-pixel and pixel-to-region relations: every
  labelled pixel's similarity to teacher pixel and class-region embeddings kept in a per-class
  memory of past batches, gathered from every process.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmengine import dist

from mmkd.registry import MODELS
from .utils import check_positive, resize_to, soft_kl


def _check_maps(loss, s_feat, t_feat):
    if s_feat.dim() != 4 or t_feat.dim() != 4 or s_feat.shape[0] != t_feat.shape[0]:
        raise ValueError(f'{loss}: expects student and teacher features (N, C, H, W) of the same '
                         f'batch; got {tuple(s_feat.shape)} and {tuple(t_feat.shape)}.')


def cross_image_pixel_relation(s_feat, t_feat, temperature=0.1):
    """The mean over the N x N ordered image pairs (i, j), i = j included, of the pixel-to-pixel
    relation KL of that pair (the reference code's normalisation, ``batchmean`` per pair)::

        A_ij = f_i^T f_j / tau                       (hw x hw, f L2-normalised over channels)
        L_ij = 1/(hw) sum_p KL(softmax_q(A^t_ij)[p] || softmax_q(A^s_ij)[p])

    Args:
        s_feat (Tensor): (N, C, H, W) the student's feature.
        t_feat (Tensor): (N, C', H', W') the teacher's, resized to H x W when it differs; no
            gradient reaches it. The channels may differ: each model relates its own pixels.
        temperature (float): tau, divides the cosine similarities; no tau^2 factor (as the
            reference code).

    Returns:
        Tensor: a scalar (float32, or float64 for float64 inputs).
    """
    dtype = torch.promote_types(s_feat.dtype, torch.float32)
    N = s_feat.shape[0]
    s = F.normalize(s_feat.to(dtype).flatten(2), dim=1)  # (N, C, hw)
    t = F.normalize(resize_to(t_feat.detach(), s_feat).to(dtype).flatten(2), dim=1)
    hw = s.shape[-1]
    total = s.new_zeros(())
    for i in range(N):  # one image against all: (N, hw, hw) at a time, not (N, N, hw, hw)
        a_s = torch.einsum('cp,ncq->npq', s[i], s) / temperature
        a_t = torch.einsum('cp,ncq->npq', t[i], t) / temperature
        total = total + soft_kl(a_s, a_t, 1.0, dim=-1).sum()
    return total / (hw * N * N)


@MODELS.register_module()
class CrossImagePixelRelationLoss(nn.Module):
    r"""CIRKD's mini-batch pixel-to-pixel distillation: the student's pixel similarities across
    the images of the batch follow the teacher's.

    .. math:: L_{mb} = w \frac{1}{N^2} \sum_{i,j=1}^{N} \frac{1}{hw} \sum_{p=1}^{hw}
              \mathrm{KL}\big(\sigma(A^t_{ij}[p] / \tau) \,\|\, \sigma(A^s_{ij}[p] / \tau)\big),
              \quad A_{ij}[p, q] = \frac{f_{i,p}^\top f_{j,q}}{\|f_{i,p}\| \|f_{j,q}\|}

    with the softmax over the hw pixels q of image j. Every pixel is used (no sampling, no
    ignore mask), as in the reference code. The relations cover the images of each process:
    the reference code's gathers for this term are commented out, so under DDP it relates each
    GPU's 2 images, and so does this loss (each process its own batch).

    Args:
        temperature (float): tau. Defaults to 0.1 (``--contrast-temperature``).
        loss_weight (float): Defaults to 1.0 (``--lambda-minibatch-pixel``).

    Example config term::

        cirkd_minibatch=dict(loss=dict(type='mmkd.CrossImagePixelRelationLoss'),
                             inputs=['s_dropout_feat', 't_decode_feat'])
    """

    needs_adapter = False

    def __init__(self, *, temperature=0.1, loss_weight=1.0):
        super().__init__()
        check_positive('CrossImagePixelRelationLoss', temperature=temperature)
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, s_feat, t_feat):
        """s_feat (N, C, H, W), t_feat (N, C', H', W'). Returns a scalar."""
        _check_maps('CrossImagePixelRelationLoss', s_feat, t_feat)
        return self.loss_weight * cross_image_pixel_relation(s_feat, t_feat, self.temperature)


class ClassMemory(nn.Module):
    """A first-in first-out memory of unit vectors per class: ``queue`` (K, size, C) and the
    write position of each class ``ptr`` (K,), both buffers (saved with the checkpoint, so a
    resumed run goes on with the same memory). It starts as random unit vectors.

    :meth:`push` writes a chunk of vectors of one class at its position (the reference code's
    rule: a chunk that would reach the end is written to the last slots and the position goes
    back to 0).
    """

    #: DDP leaves the buffers alone after broadcasting them once (KDDistributedDataParallel):
    #: every process writes the same gathered rows
    syncs_itself = True

    def __init__(self, num_classes, size, channels):
        super().__init__()
        self.size = size
        self.register_buffer('queue', F.normalize(torch.randn(num_classes, size, channels), dim=2))
        self.register_buffer('ptr', torch.zeros(num_classes, dtype=torch.long))

    def push(self, cls, vectors):
        """Writes ``vectors`` (K, C), K <= size, to class ``cls``'s memory."""
        k = vectors.shape[0]
        ptr = int(self.ptr[cls])
        if ptr + k >= self.size:
            self.queue[cls, self.size - k:] = vectors
            self.ptr[cls] = 0
        else:
            self.queue[cls, ptr:ptr + k] = vectors
            self.ptr[cls] = ptr + k

    def sample(self, count):
        """``count`` (at most all) memory slots, the same for every class, drawn without
        replacement: (K * count, C)."""
        index = torch.randperm(self.size, device=self.queue.device)[:count]
        return self.queue[:, index].reshape(-1, self.queue.shape[-1])


def gather_rows(rows):
    """Every process's ``rows`` (M_r, D), M_r may differ, concatenated in rank order (the same
    tensor in every process). No gradient. One process: ``rows`` itself."""
    if dist.get_world_size() == 1:
        return rows
    counts = dist.all_gather(torch.tensor([rows.shape[0]], device=rows.device))
    most = int(max(int(c) for c in counts))
    padded = rows.new_zeros(most, rows.shape[1])
    padded[:rows.shape[0]] = rows
    return torch.cat([part[:int(c)] for part, c in zip(dist.all_gather(padded), counts)])


def labels_at(gt_seg, size, ignore_index):
    """The GT label map (N, H, W) resized to ``size`` (nearest, as the reference code), (N, h, w)
    long."""
    if gt_seg.shape[-2:] == tuple(size):
        return gt_seg.long()
    return F.interpolate(gt_seg[:, None].float(), size=tuple(size), mode='nearest')[:, 0].long()


@MODELS.register_module()
class CIRKDMemoryLoss(nn.Module):
    r"""CIRKD's memory-based pixel-to-pixel and pixel-to-region distillation.

    Every labelled pixel of the batch is an anchor. The student's anchor is its feature through a
    projection head (1x1 conv to the teacher's channels, norm, ReLU, 1x1 conv), the teacher's
    its own feature; both L2-normalised. The keys are teacher embeddings of past batches, kept
    per class: pixels (``pixel_memory_size`` per class) and class regions (the mean of an image's
    pixels of a class; ``region_memory_size`` per class). Each step samples
    ``pixel_contrast_size // K + 1`` pixel slots and ``region_contrast_size // K + 1`` region slots
    of every class (K classes), and

    .. math:: L = w_p \, T^2 \frac{1}{|A|} \sum_{a \in A} \mathrm{KL}\big(\sigma(z^t_a / T)
              \,\|\, \sigma(z^s_a / T)\big) + w_r (\text{the same on the region keys}), \quad
              z_a = \frac{e_a^\top K}{\tau}

    with the softmax over the sampled keys. Before the loss, the batch's teacher embeddings are
    written to the memory: for each image and each class in its GT, the class region's mean
    (normalised) and up to ``pixel_update_freq`` of its pixels drawn at random. Under DDP these
    are gathered from every process first (no gradient), so every process writes the same
    vectors in the same order and the memories stay equal.

    Args:
        student_channels (int), teacher_channels (int): the two features' channels.
        num_classes (int): K, the dataset's classes (GT labels >= K other than the ignore index
            are an error).
        pixel_memory_size (int): Defaults to 20000 per class (``--pixel-memory-size``).
        region_memory_size (int): Defaults to 2000 per class (``--region-memory-size``).
        pixel_contrast_size (int): Defaults to 4096 (``--pixel-contrast-size``), over all classes.
        region_contrast_size (int): Defaults to 1024 (``--region-contrast-size``).
        pixel_update_freq (int): pixels written per class and image. Defaults to 16.
        contrast_temperature (float): tau. Defaults to 0.1 (``--contrast-temperature``).
        kd_temperature (float): T. Defaults to 1.0 (``--contrast-kd-temperature``).
        pixel_weight (float), region_weight (float): Default to 0.1 each
            (``--lambda-memory-pixel``, ``--lambda-memory-region``).
        ignore_index (int): Defaults to 255 (mmseg's).
        norm_cfg (dict): the projection head's norm. Defaults to BN (the reference code's
            SyncBN: set ``dict(type='SyncBN')`` for multi-GPU runs).
        loss_weight (float): multiplies both. Defaults to 1.0.

    Example config term::

        cirkd_memory=dict(loss=dict(type='mmkd.CIRKDMemoryLoss', student_channels=128,
                                    teacher_channels=256, num_classes=19),
                          inputs=['s_dropout_feat', 't_decode_feat', 'gt_seg'])
    """

    needs_adapter = False

    def __init__(self, *, student_channels, teacher_channels, num_classes,
                 pixel_memory_size=20000, region_memory_size=2000, pixel_contrast_size=4096,
                 region_contrast_size=1024, pixel_update_freq=16, contrast_temperature=0.1,
                 kd_temperature=1.0, pixel_weight=0.1, region_weight=0.1, ignore_index=255,
                 norm_cfg=dict(type='BN'), loss_weight=1.0):
        super().__init__()
        check_positive('CIRKDMemoryLoss', student_channels=student_channels,
                       teacher_channels=teacher_channels, num_classes=num_classes,
                       pixel_memory_size=pixel_memory_size,
                       region_memory_size=region_memory_size,
                       pixel_contrast_size=pixel_contrast_size,
                       region_contrast_size=region_contrast_size,
                       pixel_update_freq=pixel_update_freq,
                       contrast_temperature=contrast_temperature, kd_temperature=kd_temperature)
        if pixel_update_freq > pixel_memory_size:
            raise ValueError(f'CIRKDMemoryLoss: pixel_update_freq={pixel_update_freq} pixels '
                             'per class and image do not fit in pixel_memory_size='
                             f'{pixel_memory_size}; make it at most the memory size.')
        # read by the distiller, which checks them against the models where it can
        self.student_channels, self.teacher_channels = student_channels, teacher_channels
        self.num_classes = num_classes
        self.pixel_samples = pixel_contrast_size // num_classes + 1
        self.region_samples = region_contrast_size // num_classes + 1
        self.pixel_update_freq = pixel_update_freq
        self.contrast_temperature, self.kd_temperature = contrast_temperature, kd_temperature
        self.pixel_weight, self.region_weight = pixel_weight, region_weight
        self.ignore_index = ignore_index
        self.loss_weight = loss_weight
        self.project = nn.Sequential(
            nn.Conv2d(student_channels, teacher_channels, 1, bias=False),
            build_norm_layer(norm_cfg, teacher_channels)[1],
            nn.ReLU(inplace=True),
            nn.Conv2d(teacher_channels, teacher_channels, 1, bias=False))
        self.pixel_memory = ClassMemory(num_classes, pixel_memory_size, teacher_channels)
        self.region_memory = ClassMemory(num_classes, region_memory_size, teacher_channels)

    @torch.no_grad()
    def entries(self, t_embed, labels):
        """What the batch writes to the memories: ``regions`` (R, 1 + C) rows [class, vector]
        and ``pixels`` (P, 3 + C) rows [class, process, chunk, vector], a chunk being one
        image's pixels of one class (written together)."""
        regions, pixels = [], []
        C = t_embed.shape[1]
        rank = float(dist.get_rank())
        for n in range(t_embed.shape[0]):
            feat = t_embed[n].reshape(C, -1)
            label = labels[n].reshape(-1)
            for cls in label.unique().tolist():
                if cls == self.ignore_index:
                    continue
                vecs = feat[:, label == cls].t()  # (n_c, C)
                regions.append(torch.cat([vecs.new_tensor([float(cls)]),
                                          F.normalize(vecs.mean(0), dim=0)])[None])
                pick = torch.randperm(len(vecs), device=vecs.device)[:self.pixel_update_freq]
                key = vecs.new_tensor([float(cls), rank, float(len(regions))])
                pixels.append(torch.cat([key.expand(len(pick), 3),
                                         F.normalize(vecs[pick], dim=1)], dim=1))
        empty = t_embed.new_zeros
        return (torch.cat(regions) if regions else empty(0, 1 + C),
                torch.cat(pixels) if pixels else empty(0, 3 + C))

    @torch.no_grad()
    def update(self, t_embed, labels):
        """Writes the batch's teacher embeddings (every process's, in rank order)."""
        regions, pixels = (gather_rows(x) for x in self.entries(t_embed, labels))
        for row in regions:
            self.region_memory.push(int(row[0]), row[None, 1:])
        if not len(pixels):
            return
        starts = torch.ones(len(pixels), dtype=torch.bool, device=pixels.device)
        starts[1:] = (pixels[1:, :3] != pixels[:-1, :3]).any(1)  # a new (class, process, chunk)
        bounds = starts.nonzero()[:, 0].tolist() + [len(pixels)]
        for a, b in zip(bounds[:-1], bounds[1:]):
            self.pixel_memory.push(int(pixels[a, 0]), pixels[a:b, 3:])

    def relation_kd(self, s_anchor, t_anchor, keys):
        """``T^2`` KL of the anchors' softmax over ``keys``, averaged over the anchors."""
        z_s = s_anchor @ keys.t() / self.contrast_temperature
        z_t = t_anchor @ keys.t() / self.contrast_temperature
        return soft_kl(z_s, z_t, self.kd_temperature, dim=1).mean()

    def forward(self, s_feat, t_feat, gt_seg):
        """s_feat (N, C_s, h, w), t_feat (N, C_t, h', w'), gt_seg (N, H, W) the label map.
        Returns a scalar."""
        _check_maps('CIRKDMemoryLoss', s_feat, t_feat)
        if gt_seg.dim() != 3 or gt_seg.shape[0] != s_feat.shape[0]:
            raise ValueError(f'CIRKDMemoryLoss: gt_seg {tuple(gt_seg.shape)} must be the (N, H, W) '
                             f'label map of the batch of {s_feat.shape[0]} images (term input '
                             "'gt_seg').")
        if s_feat.shape[1] != self.student_channels:
            raise ValueError(f'CIRKDMemoryLoss: student_channels={self.student_channels} but the '
                             f"student's feature has {s_feat.shape[1]} channels; set "
                             'student_channels to it.')
        if t_feat.shape[1] != self.teacher_channels:
            raise ValueError(f'CIRKDMemoryLoss: teacher_channels={self.teacher_channels} but the '
                             f"teacher's feature has {t_feat.shape[1]} channels; set "
                             'teacher_channels to it.')
        size = s_feat.shape[-2:]
        s_embed = F.normalize(self.project(s_feat), dim=1)
        t_embed = F.normalize(resize_to(t_feat.detach(), s_feat).to(s_embed.dtype), dim=1)
        labels = labels_at(gt_seg, size, self.ignore_index)
        bad = labels[(labels != self.ignore_index) & ((labels < 0) |
                                                      (labels >= self.num_classes))]
        if len(bad):
            raise ValueError(f'CIRKDMemoryLoss: GT label {int(bad[0])} is neither a class '
                             f'(num_classes={self.num_classes}) nor the ignore_index '
                             f'{self.ignore_index}; set them to the dataset\'s.')
        if self.training:
            self.update(t_embed, labels)
        valid = (labels != self.ignore_index).flatten()
        C = s_embed.shape[1]
        s_anchor = s_embed.permute(0, 2, 3, 1).reshape(-1, C)[valid]
        t_anchor = t_embed.permute(0, 2, 3, 1).reshape(-1, C)[valid]
        if not len(s_anchor):  # no labelled pixel: a zero that keeps the head in the graph
            return s_embed.sum() * 0.
        pixel = self.relation_kd(s_anchor, t_anchor, self.pixel_memory.sample(self.pixel_samples))
        region = self.relation_kd(s_anchor, t_anchor,
                                  self.region_memory.sample(self.region_samples))
        return self.loss_weight * (self.pixel_weight * pixel + self.region_weight * region)
