import math
import os

import pytest
import torch
import torch.multiprocessing as mp

from mmkd.models.losses import (CIRKDMemoryLoss, ClassMemory, CrossImagePixelRelationLoss,
                                cross_image_pixel_relation)
from mmkd.registry import MODELS

E1, E2 = [1.0, 0.0], [0.0, 1.0]


def maps(*pixels):
    """One image (1, C, 1, P) whose P pixels are the given channel vectors."""
    return torch.tensor(pixels).t()[None, :, None, :]


def test_minibatch_value_by_hand():
    """One image of 2 pixels. Student e1, e2: each row of A^s / tau is [10, 0] or [0, 10];
    teacher e1, e1: rows [10, 10], softmax uniform. KL(uniform || softmax[10, 0])
    = ln 0.5 - (ln sigma(10) + ln sigma(-10)) / 2 = 5 - ln 2 + ln(1 + e^-10), each row;
    / hw averages the 2 rows."""
    expected = 5 - math.log(2) + math.log1p(math.exp(-10))
    s, t = maps(E1, E2), maps(E1, E1)
    assert cross_image_pixel_relation(s, t, 0.1).item() == pytest.approx(expected, rel=1e-6)
    # two copies of the image: all 4 ordered pairs (2 across images) have that value, and the
    # mean over N^2 pairs keeps it (a sum over pairs would give 4x, a mean over N 2x)
    loss = CrossImagePixelRelationLoss(loss_weight=3.0)
    assert loss(torch.cat([s, s]), torch.cat([t, t])).item() == pytest.approx(3 * expected,
                                                                             rel=1e-6)


def test_minibatch_relates_pixels_across_images():
    """Teacher: both images e1, e2. Student: image 0 e1, e2; image 1 e2, e1. Within each image
    the student's relations are the teacher's ([[10, 0], [0, 10]] / tau up to the rows' order):
    pairs (0, 0) and (1, 1) give 0. Across images the student's rows are [0, 10] where the
    teacher's are [10, 0]: KL = (sigma(10) - sigma(-10)) 10 = 10 tanh 5 per row, for pairs
    (0, 1) and (1, 0). Mean over the 4 pairs: 5 tanh 5."""
    t = torch.cat([maps(E1, E2), maps(E1, E2)])
    s = torch.cat([maps(E1, E2), maps(E2, E1)])
    assert cross_image_pixel_relation(s, t, 0.1).item() == pytest.approx(5 * math.tanh(5),
                                                                         rel=1e-6)


def test_minibatch_zero_for_the_same_relations_and_teacher_channels_may_differ():
    """The teacher's features through an orthogonal map into more channels, and scaled, have
    the student's cosines: the loss is 0."""
    torch.manual_seed(0)
    s = torch.randn(2, 4, 3, 5)
    q, _ = torch.linalg.qr(torch.randn(6, 6))
    t = 3.0 * torch.einsum('dc,nchw->ndhw', q[:, :4], s)
    assert cross_image_pixel_relation(s, t).item() == pytest.approx(0.0, abs=1e-5)


def test_minibatch_gradient_reaches_the_student_only_and_sizes_are_aligned():
    torch.manual_seed(0)
    s = torch.randn(2, 4, 6, 6, requires_grad=True)
    t = torch.randn(2, 8, 12, 12, requires_grad=True)  # resized to 6 x 6
    CrossImagePixelRelationLoss()(s, t).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None


def test_minibatch_refuses_other_batches():
    with pytest.raises(ValueError, match='same batch'):
        CrossImagePixelRelationLoss()(torch.randn(2, 4, 3, 3), torch.randn(3, 4, 3, 3))


def identity_projection(loss):
    """The projection head made the identity on non-negative features: both 1x1 convs the
    identity, the norm in eval mode with its initial statistics (x / sqrt(1 + eps), a scale the
    L2 normalisation removes)."""
    with torch.no_grad():
        for conv in (loss.project[0], loss.project[3]):
            conv.weight.copy_(torch.eye(conv.weight.shape[0])[:, :, None, None])
    loss.train()
    loss.project[1].eval()
    return loss


def small_memory_loss(**kwargs):
    cfg = dict(student_channels=2, teacher_channels=2, num_classes=2, pixel_memory_size=1,
               region_memory_size=1, pixel_contrast_size=1, region_contrast_size=1,
               pixel_update_freq=1)
    cfg.update(kwargs)
    return identity_projection(CIRKDMemoryLoss(**cfg))


def test_memory_value_by_hand():
    """Two pixels, classes 0 and 1; teacher e1, e2; student e2, e1 (ReLU keeps them). Memories
    of 1 slot per class: after the batch's write, pixel and region keys are e1 (class 0) and e2
    (class 1). Anchor 0: z_t = [10, 0], z_s = [0, 10]: KL = (sigma(10) - sigma(-10)) 10
    = 10 tanh 5; anchor 1 the same. Pixel and region terms weigh 0.1 each: 2 tanh 5."""
    loss = small_memory_loss()
    s, t = maps(E2, E1), maps(E1, E2)
    gt = torch.tensor([[[0, 1]]])
    assert loss(s, t, gt).item() == pytest.approx(2 * math.tanh(5), rel=1e-6)
    for memory in (loss.pixel_memory, loss.region_memory):
        assert torch.allclose(memory.queue[:, 0], torch.eye(2))
    # the same student as the teacher: 0
    assert loss(t, t, gt).item() == pytest.approx(0.0, abs=1e-6)


def test_memory_push_wraps_as_the_reference_code():
    """Size 5: 3 vectors go to slots 0-2 (position 3); the next 3 would reach the end, so they
    go to the last 3 slots (2-4) and the position goes back to 0."""
    memory = ClassMemory(num_classes=1, size=5, channels=1)
    memory.push(0, torch.tensor([[1.0], [2.0], [3.0]]))
    assert int(memory.ptr[0]) == 3
    memory.push(0, torch.tensor([[4.0], [5.0], [6.0]]))
    assert memory.queue[0, :, 0].tolist() == [1.0, 2.0, 4.0, 5.0, 6.0]
    assert int(memory.ptr[0]) == 0


def test_memory_writes_each_class_its_own_pixels_and_skips_ignored_ones():
    """Every pixel a distinct unit vector; classes 0 / 1 / ignore (255). After one batch, the
    region slot of each class is the normalised mean of its pixels and each written pixel slot
    holds a pixel of that class (the reference code writes the first n_c pixels of the image,
    whatever their class); nothing of the ignored pixel is written."""
    torch.manual_seed(0)
    t = torch.rand(1, 3, 2, 3) + 0.1
    gt = torch.tensor([[[0, 0, 1], [1, 255, 0]]])
    loss = CIRKDMemoryLoss(student_channels=3, teacher_channels=3, num_classes=2,
                           pixel_memory_size=4, region_memory_size=2, pixel_update_freq=2)
    loss.train()
    loss(torch.rand(1, 3, 2, 3), t, gt)
    unit = torch.nn.functional.normalize(t[0].reshape(3, -1), dim=0).t()  # (6, 3)
    label = gt.reshape(-1)
    for cls in (0, 1):
        mean = torch.nn.functional.normalize(unit[label == cls].mean(0), dim=0)
        assert torch.allclose(loss.region_memory.queue[cls, 0], mean, atol=1e-6)
        assert int(loss.region_memory.ptr[cls]) == 1
        written = loss.pixel_memory.queue[cls, :2]
        assert int(loss.pixel_memory.ptr[cls]) == 2
        for vec in written:
            assert (unit[label == cls] - vec).abs().sum(1).min() < 1e-6


def test_memory_ignores_unlabelled_anchors_and_has_no_anchor_on_an_unlabelled_batch():
    torch.manual_seed(0)
    loss = small_memory_loss()
    s, t = maps(E2, E1, E1), maps(E1, E2, E2)
    gt = torch.tensor([[[0, 1, 255]]])
    before = loss(s, t, gt).item()
    s2 = maps(E2, E1, E2)  # only the ignored pixel changes
    assert loss(s2, t, gt).item() == pytest.approx(before, rel=1e-6)
    s3 = s.clone().requires_grad_()
    out = loss(s3, t, torch.full((1, 1, 3), 255))
    assert out.item() == 0.0
    out.backward()  # the projection head stays in the graph (DDP needs every parameter used)
    assert loss.project[0].weight.grad is not None


def test_memory_gradient_reaches_the_student_and_the_head_only():
    torch.manual_seed(0)
    loss = CIRKDMemoryLoss(student_channels=4, teacher_channels=6, num_classes=3,
                           pixel_memory_size=10, region_memory_size=4, pixel_update_freq=4)
    loss.train()
    s = torch.randn(2, 4, 5, 5, requires_grad=True)
    t = torch.randn(2, 6, 5, 5, requires_grad=True)
    gt = torch.randint(0, 3, (2, 20, 20))  # the input's size: resized to 5 x 5
    loss(s, t, gt).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    assert all(p.grad is not None for p in loss.project.parameters())


def test_memory_is_written_in_training_only():
    """In eval mode (validation) the batch is not written: the memories stay as they were."""
    torch.manual_seed(0)
    loss = CIRKDMemoryLoss(student_channels=2, teacher_channels=2, num_classes=2,
                           pixel_memory_size=4, region_memory_size=4, pixel_update_freq=2)
    before = {k: v.clone() for k, v in loss.state_dict().items() if '_memory.' in k}
    loss.eval()
    loss(torch.rand(1, 2, 2, 2), torch.rand(1, 2, 4, 4), torch.zeros(1, 2, 2, dtype=torch.long))
    for key, value in before.items():
        assert torch.equal(loss.state_dict()[key], value), key


def test_memory_errors_name_the_setting():
    loss = CIRKDMemoryLoss(student_channels=2, teacher_channels=2, num_classes=2)
    with pytest.raises(ValueError, match="student_channels=2 but the student's feature has 3"):
        loss(torch.rand(1, 3, 2, 2), torch.rand(1, 2, 2, 2), torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match='contrast_temperature=0 must be > 0'):
        CIRKDMemoryLoss(student_channels=2, teacher_channels=2, num_classes=2,
                        contrast_temperature=0)
    with pytest.raises(ValueError, match='GT label 5 is neither a class'):
        loss(torch.rand(1, 2, 2, 2), torch.rand(1, 2, 2, 2), torch.full((1, 2, 2), 5))
    with pytest.raises(ValueError, match='teacher_channels=2'):
        loss(torch.rand(1, 2, 2, 2), torch.rand(1, 3, 2, 2), torch.zeros(1, 2, 2))
    with pytest.raises(ValueError, match="term input 'gt_seg'"):
        loss(torch.rand(1, 2, 2, 2), torch.rand(1, 2, 2, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match='pixel_update_freq=16'):
        CIRKDMemoryLoss(student_channels=2, teacher_channels=2, num_classes=2,
                        pixel_memory_size=8)


def test_built_from_config_dicts():
    loss = MODELS.build(dict(type='mmkd.CIRKDMemoryLoss', student_channels=4,
                             teacher_channels=8, num_classes=19))
    assert loss.pixel_samples == 4096 // 19 + 1 == 216
    assert loss.region_samples == 1024 // 19 + 1 == 54
    assert loss.pixel_memory.queue.shape == (19, 20000, 8)
    assert torch.allclose(loss.region_memory.queue.norm(dim=2), torch.ones(19, 2000))
    mb = MODELS.build(dict(type='mmkd.CrossImagePixelRelationLoss'))
    assert mb.temperature == 0.1 and mb.loss_weight == 1.0


def _two_process_step(rank, port, out_dir):
    import torch.distributed as tdist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    tdist.init_process_group('gloo', rank=rank, world_size=2)
    torch.manual_seed(0)  # the same initial memories, as a seeded run gives every process
    loss = CIRKDMemoryLoss(student_channels=3, teacher_channels=3, num_classes=3,
                           pixel_memory_size=6, region_memory_size=4, pixel_update_freq=2)
    loss.train()
    torch.manual_seed(100 + rank)  # each process its own images and pixel draws
    t = torch.rand(1 + rank, 3, 4, 4)
    gt = torch.randint(0, 3, (1 + rank, 4, 4))
    gt[0, 0] = 255
    loss(torch.rand(1 + rank, 3, 4, 4), t, gt)
    torch.save(dict(state=loss.state_dict(), t=t, gt=gt), os.path.join(out_dir, f'{rank}.pth'))
    tdist.destroy_process_group()


def _wrap_under_ddp(rank, port, out_dir):
    import torch.distributed as tdist
    from mmkd.engine.wrappers.distributed import KDDistributedDataParallel
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    tdist.init_process_group('gloo', rank=rank, world_size=2)
    torch.manual_seed(rank)  # each process its own initial memories and weights
    model = torch.nn.Module()
    model.head = torch.nn.Linear(2, 2)
    model.memory = ClassMemory(num_classes=2, size=3, channels=2)
    wrapped = KDDistributedDataParallel(model)
    torch.save(dict(state=model.state_dict(),
                    ignored=sorted(wrapped.parameters_to_ignore)),
               os.path.join(out_dir, f'ddp{rank}.pth'))
    tdist.destroy_process_group()


def test_ddp_broadcasts_the_memories_once_and_leaves_them_out_of_its_buffer_sync(tmp_path):
    """Under mmkd's DDP wrapper the memories start as rank 0's on both processes (as the
    weights) and DDP does not broadcast them at every forward (they are on its ignore list)."""
    mp.spawn(_wrap_under_ddp, args=(29573, str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f'ddp{r}.pth', weights_only=True) for r in (0, 1)]
    for key in ('memory.queue', 'memory.ptr', 'head.weight'):
        assert torch.equal(ranks[0]['state'][key], ranks[1]['state'][key]), key
    assert ranks[0]['ignored'] == ['memory.ptr', 'memory.queue']


def test_memory_is_equal_on_every_process_after_a_two_process_step(tmp_path):
    """Two processes with batches of 1 and 2 images: the memories (and write positions) are the
    same in both, and the region memory holds every image's class regions in rank order, as one
    process writing the three images would."""
    mp.spawn(_two_process_step, args=(29571, str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f'{r}.pth', weights_only=True) for r in (0, 1)]
    memories = [k for k in ranks[0]['state'] if '_memory.' in k]
    assert len(memories) == 4  # the queues and write positions of both memories
    for key in memories:  # (the projection head's BatchNorm statistics are each process's)
        assert torch.equal(ranks[0]['state'][key], ranks[1]['state'][key]), key
    torch.manual_seed(0)
    one = CIRKDMemoryLoss(student_channels=3, teacher_channels=3, num_classes=3,
                          pixel_memory_size=6, region_memory_size=4, pixel_update_freq=2)
    one.train()
    t = torch.cat([ranks[0]['t'], ranks[1]['t']])
    gt = torch.cat([ranks[0]['gt'], ranks[1]['gt']])
    one(torch.rand(3, 3, 4, 4), t, gt)
    for key in ('region_memory.queue', 'region_memory.ptr', 'pixel_memory.ptr'):
        assert torch.allclose(one.state_dict()[key].float(),
                              ranks[0]['state'][key].float(), atol=1e-6), key
