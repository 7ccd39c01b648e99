from .checkpoint import (allow_runner_checkpoints, load_checkpoint_file, state_dict_of,
                         student_state_dict)
from .errors import UnknownNameError, did_you_mean
from .named_configs import register_all_modules, register_config_scope

__all__ = ['allow_runner_checkpoints', 'load_checkpoint_file', 'state_dict_of',
           'student_state_dict', 'UnknownNameError', 'did_you_mean', 'register_all_modules',
           'register_config_scope']
