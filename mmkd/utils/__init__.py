from .checkpoint import (allow_runner_checkpoints, load_checkpoint_file, state_dict_of,
                         student_state_dict)
from .errors import UnknownNameError, did_you_mean

__all__ = ['allow_runner_checkpoints', 'load_checkpoint_file', 'state_dict_of',
           'student_state_dict', 'UnknownNameError', 'did_you_mean']
