import math

import pytest
import torch

from mmkd.models.losses import SimilarityPreservingLoss, similarity_matrix, similarity_preserving
from mmkd.registry import MODELS


def test_value_by_hand():
    """Student rows (1, 0), (0, 1): A A^T = I -> G_s = I. Teacher rows (1, 0), (1, 0): A A^T all
    ones -> rows (1/sqrt2, 1/sqrt2). ||G_t - G_s||^2 = 2 ((1 - 1/sqrt2)^2 + 1/2) = 2 (2 - sqrt2);
    / b^2 = (2 - sqrt2) / 2 = 0.292893; gamma 3000 -> 878.68."""
    s = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    t = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert similarity_matrix(t)[0].tolist() == pytest.approx([1 / math.sqrt(2)] * 2)
    assert similarity_preserving(s, t).item() == pytest.approx((2 - math.sqrt(2)) / 2)
    loss = MODELS.build(dict(type='mmkd.SimilarityPreservingLoss'))
    assert loss(s, t).item() == pytest.approx(3000 * (2 - math.sqrt(2)) / 2, rel=1e-6)


def test_zero_when_similarities_agree():
    """Features of another width whose Gram matrix is a multiple of the teacher's."""
    t = torch.randn(4, 3, 2, 2)  # flattened (4, 12)
    s = torch.cat([t.flatten(1), t.flatten(1)], 1) * 5  # (4, 24): Gram x 50
    assert SimilarityPreservingLoss()(s, t).item() == pytest.approx(0.0, abs=1e-6)


def test_gradient_to_student_only_gradcheck_and_empty():
    t = torch.randn(3, 5, dtype=torch.float64, requires_grad=True)
    s = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    SimilarityPreservingLoss()(s, t).backward()
    assert s.grad.abs().sum() > 0 and t.grad is None
    assert torch.autograd.gradcheck(lambda x: similarity_preserving(x, t.detach()),
                                    (s.detach().clone().requires_grad_(True),))
    empty = torch.zeros(0, 4, requires_grad=True)
    SimilarityPreservingLoss()(empty, torch.zeros(0, 8)).backward()
    assert empty.grad is not None


def test_rows_must_match():
    with pytest.raises(ValueError, match='2 student and 3 teacher'):
        SimilarityPreservingLoss()(torch.zeros(2, 2), torch.zeros(3, 2))
