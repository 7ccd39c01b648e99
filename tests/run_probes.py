"""Hooks for tests that run tools/train.py in a subprocess: record what every process did, and
kill the process at a chosen point."""
import json
import os
import os.path as osp

import torch
from mmengine.dist import get_rank
from mmengine.fileio.backends import LocalBackend
from mmengine.hooks import Hook

from mmkd.registry import HOOKS


@HOOKS.register_module()
class DumpRankStateHook(Hook):
    """In every process: keeps the losses of each iteration (MMEngine logs rank 0's only) and
    writes them to ``<work_dir>/rank<r>_losses.json`` (merged with what a previous, killed run
    of the same work dir wrote), the unwrapped model's state dict to
    ``<work_dir>/rank<r>_state.pth`` and the class name of the model's wrapper (the model's own
    when it has none) to ``<work_dir>/rank<r>_wrapper.txt``, after training."""

    def __init__(self):
        self.losses = {}

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses[runner.iter + 1] = {k: float(v) for k, v in outputs.items()}

    def after_train(self, runner):
        model = runner.model.module if hasattr(runner.model, 'module') else runner.model
        prefix = osp.join(runner.work_dir, f'rank{get_rank()}')
        torch.save(model.state_dict(), prefix + '_state.pth')
        with open(prefix + '_wrapper.txt', 'w') as f:
            f.write(type(runner.model).__name__)
        with open(prefix + '_losses.json', 'w') as f:
            json.dump(self.losses, f)


@HOOKS.register_module()
class KillAtIterationHook(Hook):
    """Kills the process (no clean-up, like SIGKILL) after training iteration ``iteration``
    (counted from 1)."""

    def __init__(self, iteration):
        self.iteration = iteration

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if runner.iter + 1 == self.iteration:
            os._exit(9)


@HOOKS.register_module()
class KillDuringSaveHook(Hook):
    """Makes the local file backend write half of the file whose name contains ``marker`` and
    then kills the process: a kill in the middle of a checkpoint write."""

    def __init__(self, marker):
        original = LocalBackend.put

        def put(backend, obj, filepath):
            if marker in str(filepath):
                with open(filepath, 'wb') as f:
                    f.write(obj[:len(obj) // 2])
                os._exit(9)
            return original(backend, obj, filepath)
        LocalBackend.put = put
