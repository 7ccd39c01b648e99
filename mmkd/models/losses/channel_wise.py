"""Channel-wise distillation (Shu et al., "Channel-wise Knowledge Distillation for Dense
Prediction", ICCV 2021, arXiv:2011.13256; reference code: pppppM/mmsegmentation-distiller and
MMRazor, ``ChannelWiseDivergence``).
"""
import torch.nn as nn

from mmkd.registry import MODELS
from .utils import check_positive, check_same_shape, reduce_rows, soft_kl


def channel_wise_divergence(s_logits, t_logits, temperature=4.0):
    """Per-channel ``temperature^2 * KL(softmax_HW(t / T) || softmax_HW(s / T))``.

    Each channel's map becomes a distribution over its H*W locations.

    Args:
        s_logits (Tensor): (N, C, H, W) student activations (logits or features).
        t_logits (Tensor): (N, C, H, W) teacher activations; no gradient reaches them.
        temperature (float): softens both spatial distributions.

    Returns:
        Tensor: (N, C) the loss of each channel, in float32 (float64 for float64 inputs).
    """
    N, C = s_logits.shape[:2]
    # each channel's H*W values, (N, C, HW), one distribution per channel
    return soft_kl(s_logits.reshape(N, C, -1), t_logits.reshape(N, C, -1), temperature, dim=-1)


@MODELS.register_module()
class ChannelWiseDivergenceLoss(nn.Module):
    r"""CWD: each channel's spatial distribution, teacher to student.

    .. math:: L_{cwd} = w \frac{T^2}{N C} \sum_{n, c} KL\big(\phi(y^t_{n,c} / T) \,\|\,
              \phi(y^s_{n,c} / T)\big), \quad \phi = \mathrm{softmax} \text{ over the H*W locations}

    The paper writes ``T^2 / C`` for one image; the batch is averaged, as in the reference code.

    Args:
        temperature (float): Defaults to 4.0 (the paper's segmentation setting; the authors' and
            MMRazor's Cityscapes PSPNet logit configs use 1.0 with loss_weight 5).
        loss_weight (float): Defaults to 3.0 (the paper's segmentation setting).

    Example config term::

        cwd=dict(loss=dict(type='mmkd.ChannelWiseDivergenceLoss'),
                 inputs=['s_logits', 't_logits'])
    """

    def __init__(self, *, temperature=4.0, loss_weight=3.0):
        super().__init__()
        check_positive('ChannelWiseDivergenceLoss', temperature=temperature)
        self.temperature = temperature
        self.loss_weight = loss_weight

    def forward(self, s_logits, t_logits):
        """s_logits, t_logits: (N, C, H, W). Returns a scalar."""
        check_same_shape('ChannelWiseDivergenceLoss', s_logits, t_logits,
                         'CWD compares channel c of the student with channel c of the teacher '
                         'at the same H x W; give the term an adapter.')
        rows = channel_wise_divergence(s_logits, t_logits, self.temperature)  # (N, C)
        return self.loss_weight * reduce_rows(rows.reshape(-1))
