"""Pictures of what the teacher and the student see, drawn every few iterations."""
import copy

import cv2
import numpy as np
from mmengine.dataset import pseudo_collate
from mmengine.hooks import Hook

from mmkd.registry import HOOKS
from .kd_weight_schedule import distiller_of

LABEL_HEIGHT = 14


def heat_tile(values, size):
    """A (H, W) map as an RGB heat map of ``size`` (h, w), scaled to its own min..max (all dark
    blue when constant)."""
    values = values.astype(np.float64)
    span = values.max() - values.min()
    scaled = (values - values.min()) / span if span > 0 else np.zeros_like(values)
    tile = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_JET)
    return cv2.cvtColor(cv2.resize(tile, size[::-1], interpolation=cv2.INTER_NEAREST),
                        cv2.COLOR_BGR2RGB)


def class_tile(labels, size, palette):
    """A (H, W) class map coloured with ``palette`` (one RGB triple per class)."""
    colours = np.asarray(palette, dtype=np.uint8)[labels % len(palette)]
    return cv2.resize(colours, size[::-1], interpolation=cv2.INTER_NEAREST)


def labelled(tile, text):
    """``tile`` under a black strip with ``text``."""
    strip = np.zeros((LABEL_HEIGHT, tile.shape[1], 3), np.uint8)
    cv2.putText(strip, text[:max(1, tile.shape[1] // 6)], (2, LABEL_HEIGHT - 4),
                cv2.FONT_HERSHEY_SIMPLEX, 0.3, (255, 255, 255), 1, cv2.LINE_AA)
    return np.concatenate([strip, tile], axis=0)


def default_palette(num):
    rng = np.random.RandomState(0)
    return [tuple(int(c) for c in rng.randint(0, 256, 3)) for _ in range(num)]


@HOOKS.register_module()
class KDVisualizationHook(Hook):
    """Every ``interval`` training iterations, draws the distiller's :meth:`visual_maps` for one
    fixed image and writes them through the runner's visualizer (``add_image``): local PNG files
    ``<log_dir>/vis_data/vis_image/kd_<panel>_<iteration>.png`` with the default
    ``LocalVisBackend``, TensorBoard with ``TensorboardVisBackend`` in ``visualizer.vis_backends``.

    Each picture is one row: the image, then one tile per map, each labelled and resized to the
    image's size (nearest, so that feature cells stay visible). Heat maps are scaled to their
    own range; class maps use the dataset's palette.

    - detection, one picture per neck level (``kd_level<i>``): teacher and student spatial
      attention, the foreground mask of the GT boxes, the feature difference;
    - segmentation (``kd_logits``): teacher and student predicted classes and confidence, and
      their disagreement.

    Args:
        interval (int): iterations between pictures. Defaults to 50.
        image_index (int): which image of the dataset. Defaults to 0.
        split (str): ``'val'`` (default; the train set when the config has no validation) or
            ``'train'`` (its pipeline's random augmentation then changes the picture).

    Example::

        custom_hooks = [dict(type='mmkd.KDVisualizationHook', interval=100)]
    """

    priority = 'LOW'

    def __init__(self, interval=50, image_index=0, split='val'):
        if split not in ('val', 'train'):
            raise ValueError(f"KDVisualizationHook: split={split!r}; use 'val' or 'train'.")
        if not (isinstance(interval, int) and interval > 0):
            raise ValueError(f'KDVisualizationHook: interval={interval!r}; give a positive '
                             'integer.')
        self.interval, self.image_index, self.split = interval, image_index, split
        self.batch = None
        self.palette = None

    def before_train(self, runner):
        distiller_of(runner, 'KDVisualizationHook')
        use_val = self.split == 'val' and runner.cfg.get('val_dataloader') is not None
        dataset = (runner.val_dataloader if use_val else runner.train_dataloader).dataset
        if not -len(dataset) <= self.image_index < len(dataset):
            raise IndexError(f'KDVisualizationHook: image_index={self.image_index}, but the '
                             f'{"val" if use_val else "train"} set has {len(dataset)} images.')
        self.batch = pseudo_collate([dataset[self.image_index]])
        self.palette = dataset.metainfo.get('palette')

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self.batch is None or not self.every_n_train_iters(runner, self.interval):
            return
        for panel, picture in self.draw(distiller_of(runner, 'KDVisualizationHook')).items():
            runner.visualizer.add_image(f'kd_{panel}', picture, step=runner.iter + 1)

    def draw(self, model):
        """``{panel: (h, w, 3) uint8 RGB picture}`` for the fixed image."""
        data = model.data_preprocessor(copy.deepcopy(self.batch), False)
        maps = model.visual_maps(data['inputs'], data['data_samples'])
        image = self.batch['inputs'][0].permute(1, 2, 0).cpu().numpy().astype(np.uint8)
        if getattr(model.data_preprocessor, '_channel_conversion', False):
            image = image[..., ::-1]  # loaded as BGR
        image = np.ascontiguousarray(image)
        size = image.shape[:2]
        pictures = {}
        for panel, named in maps.items():
            tiles = [labelled(image, 'image')]
            for name, values in named.items():
                values = values.detach().cpu().numpy()
                if name.endswith('_class'):
                    palette = self.palette or default_palette(int(values.max()) + 1)
                    tiles.append(labelled(class_tile(values, size, palette), name))
                else:
                    tiles.append(labelled(heat_tile(values, size), name))
            pictures[panel] = np.concatenate(tiles, axis=1)
        return pictures
