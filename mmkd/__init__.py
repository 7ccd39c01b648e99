"""mmkd: knowledge distillation for mmdet 3.x detectors and mmseg 1.x segmentors."""
from .version_check import check_stack

check_stack()

from .utils.checkpoint import allow_runner_checkpoints  # noqa: E402

# MMEngine runner checkpoints (resume, load_from, tools/test.py) load with torch's default
# weights_only=True; allow exactly the globals they hold, nothing wider.
allow_runner_checkpoints()

from . import engine, models  # noqa: E402,F401
from .utils import register_config_scope  # noqa: E402

# `mmkd::<folder>/<config>.py` names a config that the package ships (mmkd/.mim/configs), as
# `mmdet::` does, once mmkd is imported (docs/getting_started.md, "Named configs").
register_config_scope()

__version__ = '0.1.0'
