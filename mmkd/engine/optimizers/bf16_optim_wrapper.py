"""Mixed precision on CPU: autocast to bfloat16, no loss scaling."""
from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from mmkd.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class BF16OptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose ``optim_context`` runs the forward under
    ``torch.autocast(device_type, dtype=torch.bfloat16)``.

    MMEngine 0.10.7's ``AmpOptimWrapper`` runs on GPU / NPU / MLU only; ``tools/train.py --amp``
    takes this one on a machine without CUDA. bfloat16 has float32's exponent range, so no loss
    scaling is needed. mmkd's distillers compute the KD terms in float32 inside it.

    Args:
        device_type (str): autocast's device. Defaults to ``'cpu'``.
        **kwargs: the arguments of ``OptimWrapper``.
    """

    def __init__(self, device_type='cpu', **kwargs):
        super().__init__(**kwargs)
        self.device_type = device_type

    @contextmanager
    def optim_context(self, model):
        with super().optim_context(model), \
                torch.autocast(device_type=self.device_type, dtype=torch.bfloat16):
            yield
