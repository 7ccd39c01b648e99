"""Loading checkpoints with ``torch.load(weights_only=True)``.

torch >= 2.6 refuses any pickled object that is not a tensor, a container or an allow-listed
global. A teacher checkpoint often comes from elsewhere, so the check stays on everywhere; mmkd
allow-lists exactly the globals MMEngine's own runner checkpoints hold (the message hub's
``HistoryBuffer`` and the numpy arrays and scalars inside it) so that ``--resume``, ``load_from``
and ``tools/test.py`` work under it.
"""
import os.path as osp
import pickle
import zipfile
from collections import OrderedDict

import numpy as np
import torch


def history_buffer_method(owner, name):
    """Stands in for ``getattr`` while unpickling, for one purpose only.

    ``HistoryBuffer.__getstate__`` pickles its statistics methods (``HistoryBuffer.min`` ...) by
    reference, which pickle writes as ``getattr(HistoryBuffer, 'min')``. Allow-listing the real
    ``getattr`` would let a checkpoint reach any attribute of anything it holds; this resolves
    exactly the statistics methods of ``HistoryBuffer`` and refuses everything else.
    """
    from mmengine.logging.history_buffer import HistoryBuffer
    # The four defaults are registered lazily (on the first HistoryBuffer()); custom ones with
    # HistoryBuffer.register_statistics.
    allowed = {'min', 'max', 'current', 'mean', *HistoryBuffer._statistics_methods}
    if owner is HistoryBuffer and name in allowed:
        return getattr(owner, name)
    raise pickle.UnpicklingError(
        f'refused getattr({getattr(owner, "__name__", type(owner).__name__)}, {name!r}): '
        'only the statistics methods of mmengine\'s HistoryBuffer may be looked up')


def runner_checkpoint_globals():
    """The globals an MMEngine runner checkpoint pickles besides tensors and containers."""
    from mmengine.logging.history_buffer import HistoryBuffer
    multiarray = np.core.multiarray
    dtypes = [type(np.dtype(t)) for t in (np.float64, np.float32, np.int64, np.int32, np.bool_)]
    return [HistoryBuffer, multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype,
            *dtypes, (history_buffer_method, 'builtins.getattr')]


def allow_runner_checkpoints():
    """Allow-lists :func:`runner_checkpoint_globals` for ``weights_only=True`` loads."""
    torch.serialization.add_safe_globals(runner_checkpoint_globals())


def load_checkpoint_file(path, what='checkpoint'):
    """``torch.load(path, weights_only=True)`` on CPU, with errors that say what went wrong.

    Args:
        path (str): the file.
        what (str): how the error names the file, e.g. ``'teacher checkpoint'``.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'{what} {path!r} does not exist. Train the model first or fix '
                                'the path in the config.')
    if not zipfile.is_zipfile(path):
        with open(path, 'rb') as f:
            head = f.read(2)
        if not head.startswith(b'\x80'):  # neither torch's zip format nor a pickle
            raise RuntimeError(f'{what} {path!r} is not a readable torch checkpoint (truncated or '
                               'another format): it is neither a zip archive nor a pickle.')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as err:
        raise RuntimeError(
            f'{what} {path!r} was refused by torch.load(weights_only=True): it pickles objects '
            f'other than tensors and containers. Reason: {_unpickler_reason(err)} '
            'If you trust the file, re-save only its weights: torch.save({"state_dict": '
            'model.state_dict()}, path).') from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError) as err:
        raise RuntimeError(f'{what} {path!r} is not a readable torch checkpoint (truncated or '
                           f'another format): {err}') from None


def _unpickler_reason(err):
    """The unpickler's own words out of torch's long weights_only message."""
    text = str(err)
    marker = 'WeightsUnpickler error:'
    if marker in text:
        text = text.split(marker, 1)[1].split('Check the documentation', 1)[0]
    return ' '.join(text.split())


def state_dict_of(checkpoint):
    """The model weights of a loaded checkpoint: its ``state_dict`` entry, or itself, without
    DDP's ``module.`` prefix."""
    state = checkpoint.get('state_dict', checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError('the checkpoint holds no state dict of tensors')
    return OrderedDict((k[len('module.'):] if k.startswith('module.') else k, v)
                       for k, v in state.items())


def load_matching_state(model, state, problem):
    """``model.load_state_dict(state)`` that first lists, after ``problem``, the keys that are
    missing, unexpected or of another shape, instead of torch's error from deep inside."""
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    reshaped = [f'{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}'
                for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or reshaped:
        def some(keys):
            return ', '.join(keys[:5]) + (f' ... ({len(keys)} in all)' if len(keys) > 5 else '')
        lines = [problem + ':']
        if missing:
            lines.append(f'missing keys: {some(missing)}')
        if unexpected:
            lines.append(f'unexpected keys: {some(unexpected)}')
        if reshaped:
            lines.append(f'shape mismatches: {some(reshaped)}')
        lines.append('Check that the checkpoint was trained with this config.')
        raise ValueError('\n  '.join(lines))
    model.load_state_dict(state)


def student_state_dict(state_dict, prefix='student.'):
    """The student's weights out of a distiller's state dict (keys ``student.*``, or another
    ``prefix``: ``<member>.`` of a mutual-learning checkpoint)."""
    student = OrderedDict((k[len(prefix):], v) for k, v in state_dict.items()
                          if k.startswith(prefix))
    if not student:
        raise ValueError(f'the checkpoint has no `{prefix}*` weights: it is not a checkpoint of '
                         'this mmkd distiller')
    return student
