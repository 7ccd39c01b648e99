import pytest
import torch

from mmkd.models.losses import MGDLoss, masked_generation, random_keep_mask
from mmkd.registry import MODELS
from tests.helpers import identity_conv3x3


def identity_generation(loss):
    """Both 3x3 convs of the generation block made the identity: G(x) = relu(x)."""
    identity_conv3x3(loss.generation[0], loss.generation[2])
    return loss


def test_value_by_hand():
    """N = 2, one channel, 1 x 2 positions, G(x) = relu(x).
    Image 0: s = [1, -2], all kept: G = [1, 0]; t = [0, 0]: squared error 1.
    Image 1: s = [3, 4], first masked: G = [0, 4]; t = [1, 1]: 1 + 9 = 10.
    Sum 11, / N = 5.5; alpha 0.5, loss_weight 2 -> 5.5."""
    loss = identity_generation(MGDLoss(student_channels=1, teacher_channels=1, alpha_mgd=0.5,
                                       loss_weight=2.0))
    s = torch.tensor([[1.0, -2.0], [3.0, 4.0]]).view(2, 1, 1, 2)
    t = torch.tensor([[0.0, 0.0], [1.0, 1.0]]).view(2, 1, 1, 2)
    keep = torch.tensor([[1.0, 1.0], [0.0, 1.0]]).view(2, 1, 1, 2)
    assert masked_generation(s, t, keep, loss.generation).item() == pytest.approx(5.5)
    assert loss(s, t, keep=keep).item() == pytest.approx(5.5)


def test_mask_zeroes_the_configured_share_of_positions_for_all_channels():
    """lambda = 0.65 of 100 000 positions: the share masked is 0.65 within 0.01 (the binomial
    std is 0.0015); the mask has one value per position, shared by the channels."""
    torch.manual_seed(0)
    feat = torch.zeros(4, 3, 250, 100)
    keep = random_keep_mask(feat, 0.65)
    assert keep.shape == (4, 1, 250, 100)
    assert set(keep.unique().tolist()) == {0.0, 1.0}
    assert 1 - keep.mean().item() == pytest.approx(0.65, abs=0.01)
    assert random_keep_mask(feat, 0.0).min().item() == 1.0


def test_zero_when_the_generation_reproduces_the_teacher():
    loss = identity_generation(MGDLoss(student_channels=3, teacher_channels=3, lambda_mgd=0.0))
    t = torch.rand(2, 3, 4, 4)
    assert loss(t.clone(), t).item() == 0.0


def test_gradients_reach_student_alignment_and_generation_never_the_teacher():
    torch.manual_seed(0)
    loss = MGDLoss(student_channels=4, teacher_channels=8)
    assert isinstance(loss.align, torch.nn.Conv2d) and loss.align.out_channels == 8
    s = torch.randn(2, 4, 5, 5, requires_grad=True)
    t = torch.randn(2, 8, 5, 5, requires_grad=True)
    loss(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    assert loss.align.weight.grad.abs().sum() > 0
    assert loss.generation[0].weight.grad.abs().sum() > 0
    assert isinstance(MGDLoss(student_channels=8, teacher_channels=8).align, torch.nn.Identity)


def test_errors_and_config():
    loss = MODELS.build(dict(type='mmkd.MGDLoss', student_channels=4, teacher_channels=8))
    assert (loss.alpha_mgd, loss.lambda_mgd) == (2e-5, 0.65)
    with pytest.raises(ValueError, match=r'\(1, 8, 4, 4\).*\(1, 8, 2, 2\).*same stride'):
        loss(torch.zeros(1, 4, 4, 4), torch.zeros(1, 8, 2, 2))
    with pytest.raises(ValueError, match=r'lambda_mgd=1.0.*\[0, 1\)'):
        MGDLoss(student_channels=4, teacher_channels=4, lambda_mgd=1.0)
