"""MMEngine's CheckpointHook with atomic writes and the random state, for exact resumes."""
import os
import os.path as osp
import random

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.hooks import CheckpointHook

from mmkd.registry import HOOKS

PART = '.part'


def rng_state():
    """Python's, numpy's and torch's random states, in types ``torch.load(weights_only=True)``
    reads (numpy's key array as a list of ints)."""
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    return dict(python=random.getstate(),
                numpy=(kind, keys.tolist(), pos, has_gauss, gauss),
                torch=torch.get_rng_state())


def set_rng_state(state):
    random.setstate(state['python'])
    kind, keys, pos, has_gauss, gauss = state['numpy']
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    torch.set_rng_state(state['torch'])


class RestoreAfterSkip:
    """Wraps an iteration-based loop's data iterator: MMEngine's resume first draws (and drops)
    the batches already trained on, which runs the random augmentations; the random state is
    restored just before the first batch that is trained on."""

    def __init__(self, iterator, skip, state):
        self.iterator, self.skip, self.state = iterator, skip, state
        self.count = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.count == self.skip and self.state is not None:
            set_rng_state(self.state)
            self.state = None
        self.count += 1
        return next(self.iterator)

    def __getattr__(self, name):
        return getattr(self.iterator, name)


def write_atomically(path, text):
    with open(path + PART, 'w') as f:
        f.write(text)
    os.replace(path + PART, path)


def reorder_old_optimizers(runner, checkpoint):
    """A distiller's checkpoint written before its KD terms were modules keeps its weights
    (their keys are mapped on load), but its optimizer state is indexed by the old parameter
    order: rewrite it, before the runner's resume loads it, so that every parameter gets its
    own momentum back (:func:`mmkd.models.distillers.terms.reorder_old_optimizer_state`)."""
    from mmengine.model import is_model_wrapper
    from mmengine.optim import OptimWrapper, OptimWrapperDict
    from mmkd.models.distillers.base import is_distiller
    from mmkd.models.distillers.terms import reorder_old_optimizer_state
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    wrappers = getattr(runner, 'optim_wrapper', None)
    saved = checkpoint.get('optimizer')
    if saved is None or not is_distiller(model) or 'state_dict' not in checkpoint:
        return
    if isinstance(wrappers, OptimWrapperDict):  # (a subclass of OptimWrapper)
        pairs = [(saved[name], w.optimizer) for name, w in wrappers.items() if name in saved]
    elif isinstance(wrappers, OptimWrapper):
        pairs = [(saved, wrappers.optimizer)]
    else:
        return
    keys = [k[len('module.'):] if k.startswith('module.') else k for k in checkpoint['state_dict']]
    for state, optimizer in pairs:
        if reorder_old_optimizer_state(state, optimizer, model, keys):
            runner.logger.info('mmkd: the checkpoint predates the KD terms as modules; its '
                               'optimizer state was reordered to the parameters of now.')


@HOOKS.register_module()
class SafeCheckpointHook(CheckpointHook):
    """MMEngine's ``CheckpointHook`` (same arguments) that never loses a checkpoint and makes
    ``--resume`` continue exactly:

    - a checkpoint is written to ``<name>.part`` and renamed when complete, and
      ``last_checkpoint`` is rewritten the same way after it, so a kill during a save leaves the
      previous checkpoint as the latest and resume picks that one;
    - checkpoints beyond ``max_keep_ckpts`` are removed after the new one is complete (MMEngine
      removes them first);
    - checkpoints carry the Python, numpy and torch random states, restored on resume (for an
      iteration-based loop, after MMEngine has skipped the batches already trained on), so the
      data augmentation and everything else random continue as in an uninterrupted run
      (``randomness=dict(seed=..., deterministic=True)`` for bit-exact kernels; dataloader
      worker processes, ``num_workers > 0``, restart their own random streams).

    The KD runtimes (``configs/_base_/demo_runtime.py`` and the COCO / Cityscapes root configs)
    set it as ``default_hooks.checkpoint``, so every entry point (ours, mmdet's or mmseg's
    ``tools/train.py``, ``mim train``) runs it. Local files only: other backends get MMEngine's
    behaviour.
    """

    def before_save_checkpoint(self, runner, checkpoint):
        checkpoint.setdefault('meta', {})['rng_state'] = rng_state()

    def after_load_checkpoint(self, runner, checkpoint):
        reorder_old_optimizers(runner, checkpoint)
        self._rng_state = checkpoint.get('meta', {}).get('rng_state')
        if self._rng_state is not None:
            set_rng_state(self._rng_state)

    def before_train_epoch(self, runner):
        state, self._rng_state = getattr(self, '_rng_state', None), None
        loop = runner.train_loop
        if state is not None and runner.iter > 0 and hasattr(loop, 'dataloader_iterator'):
            loop.dataloader_iterator = RestoreAfterSkip(loop.dataloader_iterator, runner.iter,
                                                        state)

    def _save_checkpoint_with_step(self, runner, step, meta):
        if not osp.isdir(str(self.out_dir)) or self.backend_args or self.file_client_args:
            return super()._save_checkpoint_with_step(runner, step, meta)
        filename = self.filename_tmpl.format(step)
        path = osp.join(self.out_dir, filename)
        # the list goes into the checkpoint's message hub, as in MMEngine; the files leave only
        # once the new checkpoint is complete
        outdated = []
        if self.max_keep_ckpts > 0 and (not self.keep_ckpt_ids or
                                        self.keep_ckpt_ids[-1] != step):
            # (a deque with maxlen=max_keep_ckpts: make room before appending)
            while len(self.keep_ckpt_ids) >= self.max_keep_ckpts:
                outdated.append(self.keep_ckpt_ids.popleft())
            self.keep_ckpt_ids.append(step)
            runner.message_hub.update_info('keep_ckpt_ids', list(self.keep_ckpt_ids))
        self.last_ckpt = path
        runner.message_hub.update_info('last_ckpt', path)
        runner.save_checkpoint(
            self.out_dir, filename + PART, save_optimizer=self.save_optimizer,
            save_param_scheduler=self.save_param_scheduler, meta=meta, by_epoch=self.by_epoch,
            **self.args)
        if not is_main_process():
            return
        os.replace(path + PART, path)
        write_atomically(osp.join(runner.work_dir, 'last_checkpoint'), path)
        for old_step in outdated:
            old = osp.join(self.out_dir, self.filename_tmpl.format(old_step))
            if osp.isfile(old):
                os.remove(old)
