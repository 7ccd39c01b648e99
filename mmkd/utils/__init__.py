from .checkpoint import (allow_runner_checkpoints, load_checkpoint_file, state_dict_of,
                         student_state_dict)

__all__ = ['allow_runner_checkpoints', 'load_checkpoint_file', 'state_dict_of',
           'student_state_dict']
