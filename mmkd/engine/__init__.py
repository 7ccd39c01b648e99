from .hooks import *  # noqa: F401,F403
from .optimizers import *  # noqa: F401,F403
from .wrappers import *  # noqa: F401,F403
from .runner import *  # noqa: F401,F403
from .visualization import *  # noqa: F401,F403
