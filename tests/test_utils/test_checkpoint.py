"""Checkpoints load with weights_only=True: runner checkpoints through a narrow allow-list, and
anything else is refused with the reason."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from mmkd.utils.checkpoint import (history_buffer_method, load_checkpoint_file, state_dict_of,
                                   student_state_dict)


class ReachesForAttribute:
    """Pickles as getattr(torch.Tensor, 'add'): an attribute lookup the allow-list must refuse."""

    def __reduce__(self):
        return getattr, (torch.Tensor, 'add')


def test_runner_style_checkpoint_round_trip(tmp_path):
    """What MMEngine's runner writes besides tensors: the message hub's HistoryBuffers (numpy
    arrays, statistics methods pickled by reference) and numpy scalars."""
    hub = MessageHub.get_instance('mmkd_test_checkpoint')
    hub.update_scalar('train/loss', 1.5)
    hub.update_scalar('train/loss', 0.5)
    path = str(tmp_path / 'runner.pth')
    torch.save(dict(state_dict={'w': torch.ones(2)}, message_hub=hub.state_dict(),
                    meta=dict(seed=np.int64(3), lr=np.float64(0.5))), path)
    loaded = load_checkpoint_file(path)
    buffer = loaded['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.mean() == pytest.approx(1.0) and buffer.current() == pytest.approx(0.5)
    assert loaded['meta']['seed'] == 3
    assert torch.equal(state_dict_of(loaded)['w'], torch.ones(2))


def test_other_attribute_lookups_are_refused(tmp_path):
    path = str(tmp_path / 'evil.pth')
    torch.save({'state_dict': {}, 'x': ReachesForAttribute()}, path)
    with pytest.raises(RuntimeError, match=r"(?s)refused by torch.load\(weights_only=True\).*"
                                           r"refused getattr\(Tensor, 'add'\)"):
        load_checkpoint_file(path, 'teacher checkpoint')
    with pytest.raises(pickle.UnpicklingError):
        history_buffer_method(HistoryBuffer, '__init__')
    assert history_buffer_method(HistoryBuffer, 'mean') is HistoryBuffer.mean


def test_truncated_and_missing_files(tmp_path):
    path = tmp_path / 'cut.pth'
    torch.save({'state_dict': {'w': torch.ones(1000)}}, str(path))
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(RuntimeError, match='not a readable torch checkpoint'):
        load_checkpoint_file(str(path))
    with pytest.raises(FileNotFoundError, match='nothing.pth'):
        load_checkpoint_file(str(tmp_path / 'nothing.pth'))


def test_state_dict_helpers():
    state = state_dict_of({'state_dict': {'module.student.a': torch.zeros(1),
                                          'module.teacher.b': torch.zeros(1)}})
    assert list(state) == ['student.a', 'teacher.b']
    assert list(student_state_dict(state)) == ['a']
    with pytest.raises(ValueError, match='no `student.\\*` weights'):
        student_state_dict({'backbone.w': torch.zeros(1)})
    with pytest.raises(ValueError, match='no state dict of tensors'):
        state_dict_of({'state_dict': {'a': 'text'}})
