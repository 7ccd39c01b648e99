"""Box edges as distributions over bins (GFL, LD): continuous distances to soft bin targets, and
a distribution over one number of bins moved onto another."""
import torch
import torch.nn.functional as F


def distances_to_bins(distances, reg_max, sigma=None):
    """Soft bin targets for continuous edge distances, so that a teacher that regresses offsets
    (RetinaNet, FCOS, ATSS) can teach a student that classifies each edge over ``reg_max + 1``
    bins (GFL).

    Each distance ``d`` (in the student's stride units) is clamped to ``[0, reg_max]`` and spread
    over the two nearest bins, ``floor(d)`` with weight ``1 - frac(d)`` and ``floor(d) + 1`` with
    weight ``frac(d)`` (GFL's own DFL target); ``d = reg_max`` puts everything on the last bin.
    With ``sigma``, a Gaussian ``exp(-(i - d)^2 / (2 sigma^2))`` over the bins i, normalised,
    instead.

    Args:
        distances (Tensor): (M, 4) left, top, right, bottom.
        reg_max (int): the last bin index; n = reg_max + 1 bins.
        sigma (float, optional): the Gaussian's width in bins.

    Returns:
        Tensor: (M * 4, reg_max + 1) probabilities, one row per edge (rows of a box together).
    """
    d = distances.detach().float().reshape(-1).clamp(0, reg_max)
    bins = torch.arange(reg_max + 1, device=d.device, dtype=d.dtype)
    if sigma is not None:
        return F.softmax(-(bins[None] - d[:, None]).pow(2) / (2 * sigma ** 2), dim=1)
    left = d.floor().clamp(max=reg_max - 1)
    w_right = d - left
    probs = d.new_zeros(len(d), reg_max + 1)
    rows = torch.arange(len(d), device=d.device)
    probs[rows, left.long()] = 1 - w_right
    probs[rows, left.long() + 1] = w_right
    return probs


def rebin_distribution(probs, reg_max):
    """Moves edge distributions over ``n_t`` bins (a teacher with ``reg_max = n_t - 1``) onto
    ``reg_max + 1`` bins: bin j sits at distance j stride units on both sides, so its mass goes to
    the student's bins by :func:`distances_to_bins` of j (the same bin when it exists, the last
    bin beyond it).

    Args:
        probs (Tensor): (M, n_t) probabilities.
        reg_max (int): the student's.

    Returns:
        Tensor: (M, reg_max + 1).
    """
    positions = torch.arange(probs.shape[1], device=probs.device, dtype=torch.float32)
    moves = distances_to_bins(positions[:, None].expand(-1, 4), reg_max)[::4]  # (n_t, n_s)
    return probs.float() @ moves
