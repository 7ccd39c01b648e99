"""DDP for distillers: MMEngine's wrapper, with the distiller's own step and its discriminator
kept out of the gradient reducer."""
from mmengine.dist import broadcast
from mmengine.model import MMDistributedDataParallel
from torch.nn.parallel import DistributedDataParallel

from mmkd.models.distillers import is_distiller
from mmkd.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class KDDistributedDataParallel(MMDistributedDataParallel):
    """``MMDistributedDataParallel`` for mmkd distillers (and any other model).

    - The frozen teacher has no parameter that requires a gradient, so DDP neither syncs nor
      waits for it; no ``find_unused_parameters`` is needed.
    - A distiller's ``train_step`` runs (the segmentation distiller's two-optimizer step), with
      its forward going through this wrapper so that the student's, the adapters' and the KD
      losses' gradients are averaged by DDP.
    - The discriminator of adversarial KD takes no gradient in the student's backward, so it is
      kept out of DDP's reducer (which would wait for it); the distiller averages its gradients
      itself in the discriminator step (:func:`mmkd.utils.dist.average_gradients`), and this
      wrapper broadcasts its initial weights from rank 0.
    - Buffers of a module with ``syncs_itself = True`` (CIRKD's memories, which every process
      writes alike from gathered rows) are broadcast from rank 0 once, here, instead of at every
      forward (DDP's ``broadcast_buffers``: 860 MB a step for the Cityscapes config's memories).
    - On CPU (gloo), ``device_ids`` are dropped: DDP takes them for GPU modules only.

    ``tools/train.py`` uses it whenever a launcher is given and the config sets no
    ``model_wrapper_cfg``.
    """

    def __init__(self, module, detect_anomalous_params=False, **kwargs):
        if not any(p.is_cuda for p in module.parameters()):
            kwargs.pop('device_ids', None)
            kwargs.pop('output_device', None)
        discriminator = getattr(module, 'discriminator', None)
        ignored, once = [], []
        if discriminator is not None:
            ignored += [f'discriminator.{name}' for name, _ in
                        [*discriminator.named_parameters(), *discriminator.named_buffers()]]
            once += [*discriminator.parameters(), *discriminator.buffers()]
        for prefix, part in module.named_modules():
            if getattr(part, 'syncs_itself', False):  # e.g. CIRKD's memories (cirkd.py)
                ignored += [f'{prefix}.{name}' for name, _ in part.named_buffers()]
                once += list(part.buffers())
        if ignored:
            DistributedDataParallel._set_params_and_buffers_to_ignore_for_model(module, ignored)
        super().__init__(module, detect_anomalous_params=detect_anomalous_params, **kwargs)
        for tensor in once:
            broadcast(tensor.data, src=0)

    def train_step(self, data, optim_wrapper):
        if is_distiller(self.module):
            return self.module.train_step(data, optim_wrapper, ddp=self)
        return super().train_step(data, optim_wrapper)
