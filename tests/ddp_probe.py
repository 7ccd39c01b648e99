"""A hook for the DDP tests: every process writes its own losses and final weights."""
import json
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.hooks import Hook

from mmkd.registry import HOOKS


@HOOKS.register_module()
class DumpRankStateHook(Hook):
    """In every process: keeps the losses of each iteration (MMEngine logs rank 0's only) and
    writes them to ``<work_dir>/rank<r>_losses.json``, and the unwrapped model's state dict to
    ``<work_dir>/rank<r>_state.pth``, after training."""

    def __init__(self):
        self.losses = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses[runner.iter + 1] = {k: float(v) for k, v in outputs.items()}

    def after_train(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        prefix = osp.join(runner.work_dir, f'rank{get_rank()}')
        torch.save(model.state_dict(), prefix + '_state.pth')
        with open(prefix + '_losses.json', 'w') as f:
            json.dump(self.losses, f)
