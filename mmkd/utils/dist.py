"""Collective helpers the distillers use in their own optimizer steps."""
import torch
from mmengine.dist import all_reduce, get_world_size


def average_gradients(params):
    """Averages the gradients of ``params`` over the processes (one all-reduce of them all,
    flattened). Parameters without a gradient are left out."""
    if get_world_size() < 2:
        return
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    all_reduce(flat, op='mean')
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()
