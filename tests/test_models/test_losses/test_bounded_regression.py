import pytest
import torch

from mmkd.models.losses import TeacherBoundedRegressionLoss
from mmkd.registry import MODELS

# Rows (D = 2, target 0):
#  A student [1, 0] (e_s 1), teacher [0, 0] (e_t 0): the student is worse, counts 1.
#  B student [0.5, 0] (0.25), teacher [1, 1] (2): better than the teacher, bounded out.
#  C student [1, 0] (1), teacher [1, 1] (2): out with m = 0, in with m = 1.5 (1 + 1.5 > 2).
#  D student [1, 0] (1), teacher [0, 1] (1): equal, out (the rule is a strict >).
S = torch.tensor([[1.0, 0.0], [0.5, 0.0], [1.0, 0.0], [1.0, 0.0]])
T = torch.tensor([[0.0, 0.0], [1.0, 1.0], [1.0, 1.0], [0.0, 1.0]])
Y = torch.zeros(4, 2)


def loss_of(margin=0.0, **kwargs):
    return TeacherBoundedRegressionLoss(margin=margin, loss_weight=1.0)(S, T, Y, **kwargs)


def test_rows_by_hand():
    none = TeacherBoundedRegressionLoss(reduction='none', loss_weight=1.0)(S, T, Y)
    assert none.tolist() == [1.0, 0.0, 0.0, 0.0]
    moved = TeacherBoundedRegressionLoss(margin=1.5, reduction='none', loss_weight=1.0)(S, T, Y)
    assert moved.tolist() == [1.0, 0.0, 1.0, 1.0]  # D: 1 + 1.5 > 1 as well


def test_mean_sum_avg_factor_and_loss_weight():
    assert loss_of().item() == pytest.approx(1 / 4)
    assert loss_of(margin=1.5).item() == pytest.approx(3 / 4)
    assert loss_of(avg_factor=2.0).item() == pytest.approx(1 / 2)
    assert loss_of(reduction_override='sum').item() == pytest.approx(1.0)
    default = MODELS.build(dict(type='mmkd.TeacherBoundedRegressionLoss'))
    assert default(S, T, Y).item() == pytest.approx(0.5 / 4)


def test_row_and_coordinate_weights():
    """(M,) weights scale rows after the rule; (M, D) weights enter both errors: with [1, 0] on
    row D the teacher's error drops to 0 and the row counts."""
    assert loss_of(weight=torch.tensor([3.0, 1.0, 1.0, 1.0])).item() == pytest.approx(3 / 4)
    coord = torch.ones(4, 2)
    coord[3] = torch.tensor([1.0, 0.0])
    assert loss_of(weight=coord).item() == pytest.approx(2 / 4)


def test_gradient_only_to_the_student_and_zero_on_bounded_rows():
    s = S.clone().requires_grad_(True)
    t = T.clone().requires_grad_(True)
    TeacherBoundedRegressionLoss(loss_weight=1.0)(s, t, Y).backward()
    assert t.grad is None
    # d/ds of ||s - y||^2 / 4 on row A: 2 s / 4; rows B, C, D: 0
    assert s.grad.tolist() == [[0.5, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]


def test_empty_rows_and_bad_shapes():
    empty = torch.zeros(0, 4, requires_grad=True)
    value = TeacherBoundedRegressionLoss()(empty, torch.zeros(0, 4), torch.zeros(0, 4))
    assert value.item() == 0.0
    value.backward()
    with pytest.raises(ValueError, match=r'student \(4, 2\) and teacher \(4, 3\)'):
        TeacherBoundedRegressionLoss()(S, torch.zeros(4, 3), Y)
    with pytest.raises(ValueError, match=r'weight \(3,\) for 4 rows'):
        TeacherBoundedRegressionLoss()(S, T, Y, weight=torch.ones(3))
