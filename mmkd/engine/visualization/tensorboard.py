"""The TensorBoard backend of the KD runtime bases (``configs/_base_/demo_runtime.py``,
``demo_seg_runtime.py``): MMEngine's ``TensorboardVisBackend`` when the ``tensorboard`` package
is installed (``pip install "mmkd[tensorboard]"``); otherwise a warning when the visualizer is
built and nothing written, instead of MMEngine's ``ImportError`` at the first logged scalar,
iterations into a run. The ``LocalVisBackend`` beside it keeps every scalar
(``vis_data/scalars.json``) and picture (``vis_data/vis_image``) either way.
"""
import importlib.util

from mmengine.logging import print_log
from mmengine.visualization import TensorboardVisBackend

from mmkd.registry import VISBACKENDS


def tensorboard_available():
    """Whether ``torch.utils.tensorboard`` can write: it needs the ``tensorboard`` package."""
    return importlib.util.find_spec('tensorboard') is not None


@VISBACKENDS.register_module()
class OptionalTensorboardVisBackend(TensorboardVisBackend):
    """``TensorboardVisBackend`` that writes nothing, after one warning, without tensorboard.

    The event file is ``<log_dir>/vis_data/events.out.tfevents.*``: the scalars the logger
    logs (``loss_kd_<term>``, ``kd_weight_<term>`` with ``mmkd.KDWeightScheduleHook``, the task
    losses, ``lr``) and the pictures of ``mmkd.KDVisualizationHook`` (``kd_level<i>``,
    ``kd_logits``). ``tensorboard --logdir work_dirs`` shows them.

    Args:
        save_dir (str): set by the visualizer (``<log_dir>/vis_data``).
        **kwargs: as for MMEngine's ``TensorboardVisBackend``.
    """

    def __init__(self, save_dir, **kwargs):
        super().__init__(save_dir, **kwargs)
        self.available = tensorboard_available()
        if not self.available:
            print_log('TensorBoard is off: the tensorboard package is not installed (pip install '
                      '"mmkd[tensorboard]"); the LocalVisBackend still writes every scalar and '
                      'picture under vis_data/', logger='current', level=30)

    def add_config(self, config, **kwargs):
        if self.available:
            super().add_config(config, **kwargs)

    def add_image(self, name, image, step=0, **kwargs):
        if self.available:
            super().add_image(name, image, step, **kwargs)

    def add_scalar(self, name, value, step=0, **kwargs):
        if self.available:
            super().add_scalar(name, value, step, **kwargs)

    def add_scalars(self, scalar_dict, step=0, file_path=None, **kwargs):
        if self.available:
            super().add_scalars(scalar_dict, step, file_path, **kwargs)

    def close(self):
        if self.available:
            super().close()
