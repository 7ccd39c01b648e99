"""Builds mmkd's offline demo dataset, deterministically, from data that ships inside scikit-learn.

Scenes: handwritten digits (scikit-learn's copy of the UCI "Optical Recognition of Handwritten
Digits" set, 8x8 images, CC BY 4.0) scaled up and composed, in bright colours, onto random crops
of the two photographs scikit-learn ships (``china.jpg`` and ``flower.jpg``, CC BY 2.0, see
scikit-learn's ``datasets/images/README.txt``). Nothing is downloaded.

Written under OUT (default ``data/mmkd_demo``):

- ``leftImg8bit/{train,val}/demo/<id>_leftImg8bit.png``: the images (RGB PNG);
- ``annotations/instances_{train,val}.json``: COCO instances: tight boxes of each digit's
  strokes, ``area`` = stroke pixels, no masks, categories ``0`` .. ``9``;
- ``gtFine/{train,val}/demo/<id>_gtFine_labelTrainIds.png``: semantic labels in the Cityscapes
  folder layout, 0 = background, 1 + d = digit d (its strokes widened by 7 px inside their tight
  box); no pixel is ignored (see ``digit_region``).

Usage::

    python tools/dataset/make_demo_data.py [--out data/mmkd_demo] [--train 400] [--val 100]
"""
import argparse
import json
import os
import os.path as osp
import sys

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
from tools.progress import Progress  # noqa: E402

CLASSES = tuple(str(d) for d in range(10))
VERSION = 2


def load_sources():
    """Digit sprites (n, 8, 8) in [0, 1], their labels, and the background photos."""
    from sklearn.datasets import load_digits, load_sample_images
    digits = load_digits()
    photos = [np.asarray(img) for img in load_sample_images().images]
    return digits.images / 16.0, digits.target, photos


def make_scene(rng, sprites, labels, photos, size, max_objects, min_side=None, max_overlap=0.05,
               clutter=0, dim=0.5):
    """One image (size, size, 3) uint8, its boxes (k, 4) x1y1x2y2, labels (k,), areas (k,) and
    semantic label map (size, size) uint8.

    Digits of ``min_side`` (default ``size // 6``) to ``size // 3`` px overlap each other by an
    IoU below ``max_overlap`` (a later digit is painted over an earlier one, and takes its label
    pixels). ``clutter``: up to that many unlabelled distractors, fragments of digit sprites
    (a random 3x3 to 5x5 of the 8x8) painted like digits, so that colour and stroke alone do not
    make a digit. The photo is dimmed to ``dim`` of its brightness."""
    photo = photos[rng.randint(len(photos))]
    crop = rng.randint(size, min(photo.shape[:2]) + 1)
    y0 = rng.randint(photo.shape[0] - crop + 1)
    x0 = rng.randint(photo.shape[1] - crop + 1)
    background = Image.fromarray(photo[y0:y0 + crop, x0:x0 + crop]).resize((size, size),
                                                                          Image.BILINEAR)
    img = np.asarray(background, dtype=np.float32) * dim  # dimmed so bright digits stand out
    if rng.rand() < 0.5:
        img = img[:, ::-1]
    semantic = np.zeros((size, size), np.uint8)
    if clutter:
        for _ in range(rng.randint(0, clutter + 1)):
            k = rng.randint(len(sprites))
            h, w = rng.randint(3, 6, size=2)
            top, left = rng.randint(0, 9 - h), rng.randint(0, 9 - w)
            side = rng.randint(size // 10, size // 4 + 1)
            x, y = rng.randint(0, size - side + 1, size=2)
            _paint(img, rng, sprites[k][top:top + h, left:left + w], x, y, side)
    boxes, cats, areas = [], [], []
    for _ in range(rng.randint(1, max_objects + 1)):
        side = rng.randint(min_side or size // 6, size // 3 + 1)
        for _attempt in range(20):
            x, y = rng.randint(0, size - side + 1, size=2)
            box = np.array([x, y, x + side, y + side], np.float32)
            if all(_iou(box, b) < max_overlap for b in boxes):
                break
        else:
            continue
        k = rng.randint(len(sprites))
        alpha = _paint(img, rng, sprites[k], x, y, side)
        ys, xs = np.nonzero(alpha > 0.5)
        if len(xs) == 0:
            continue
        tight = np.array([x + xs.min(), y + ys.min(), x + xs.max() + 1, y + ys.max() + 1],
                         np.float32)
        sem = semantic[y:y + side, x:x + side]
        sem[digit_region(alpha > 0.5, xs, ys)] = 1 + labels[k]
        boxes.append(tight)
        cats.append(int(labels[k]))
        areas.append(int((alpha > 0.5).sum()))
    return (np.clip(img, 0, 255).astype(np.uint8), np.array(boxes, np.float32).reshape(-1, 4),
            cats, areas, semantic)


def _paint(img, rng, sprite, x, y, side):
    """Paints ``sprite`` (in [0, 1]) scaled to ``side`` x ``side`` at (x, y) in a bright random
    colour; returns its alpha (side, side)."""
    alpha = np.asarray(Image.fromarray((sprite * 255).astype(np.uint8)).resize(
        (side, side), Image.BILINEAR), np.float32) / 255.0
    alpha = np.clip((alpha - 0.2) * 2.0, 0.0, 1.0)  # crisper strokes than the 8x8 blur
    colour = rng.uniform(60, 255, size=3)
    colour[rng.randint(3)] = 255  # saturated, so the digit stands out of the photo
    region = img[y:y + side, x:x + side]
    region[:] = region * (1 - alpha[..., None]) + colour * alpha[..., None]
    return alpha


def digit_region(strokes, xs, ys):
    """The semantic label of a digit: its strokes widened by 7 px on each side (a 15 x 15 max
    filter) inside their tight box, so that a segmentor at output stride 8 can resolve it (bare
    strokes are thinner than a cell: on them the demo's PSPNets only ever learned background).
    No pixel is ignored: mmseg 1.2.2's CrossEntropyLoss fails on the ignore index when it has
    class weights, which the demo segmentors need (the background is 92% of the pixels)."""
    def widen(mask, size):
        img = Image.fromarray(mask.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(size))
        return np.asarray(img) > 0
    in_box = np.zeros_like(strokes)
    in_box[ys.min():ys.max() + 1, xs.min():xs.max() + 1] = True
    return widen(strokes, 15) & in_box


def _iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# The scene settings of the demo data (``build``'s keyword arguments); version 2 of the data was
# num_train=400, max_objects=3, min_side=None (size // 6), max_overlap=0.05, clutter=0, dim=0.5.
DEFAULTS = dict(num_train=400, num_val=100, size=160, max_objects=3, seed=0, min_side=None,
                max_overlap=0.05, clutter=0, dim=0.5, student_images=None, seg_student_images=None)
# What the demo builds (tools/demo.py) and this script builds by default: the splits of the
# demos' data-limited students, the first 200 train images (detection) and the first 50
# (segmentation, where 200 images leave a student within a few mIoU of its teacher).
DEMO = dict(student_images=200, seg_student_images=50)


def build(out, num_train=DEFAULTS['num_train'], num_val=DEFAULTS['num_val'],
          size=DEFAULTS['size'], max_objects=DEFAULTS['max_objects'], seed=DEFAULTS['seed'],
          min_side=DEFAULTS['min_side'], max_overlap=DEFAULTS['max_overlap'],
          clutter=DEFAULTS['clutter'], dim=DEFAULTS['dim'],
          student_images=DEFAULTS['student_images'],
          seg_student_images=DEFAULTS['seg_student_images'], progress=True):
    """Writes the dataset under ``out``; returns {split: number of images}. ``progress`` prints
    the images written, the elapsed time and an ETA every few seconds. The scene settings are
    ``make_scene``'s. ``student_images``: the first that many train images also make the split
    of a student that sees fewer images than its teacher (``annotations/instances_train_student
    .json`` and, for mmseg, ``splits/train_student.txt``); ``seg_student_images``: the mmseg
    split ``splits/train_seg_student.txt`` of the first that many."""
    settings = dict(num_train=num_train, num_val=num_val, size=size, max_objects=max_objects,
                    seed=seed, min_side=min_side, max_overlap=max_overlap, clutter=clutter,
                    dim=dim, student_images=student_images,
                    seg_student_images=seg_student_images)
    for key in ('student_images', 'seg_student_images'):
        if settings[key] and settings[key] > num_train:
            raise ValueError(f'{key}={settings[key]}: there are only {num_train} train '
                             'images; give at most num_train')
    if osp.isfile(osp.join(out, 'VERSION')):
        os.remove(osp.join(out, 'VERSION'))  # written last: a stopped build is built again
    for stale in ('annotations/instances_train_student.json', 'splits/train_student.txt',
                  'splits/train_seg_student.txt'):
        if osp.isfile(osp.join(out, stale)):
            os.remove(osp.join(out, stale))
    sprites, labels, photos = load_sources()
    rng = np.random.RandomState(seed)
    counts = {}
    shown = Progress(num_train + num_val, '[dataset] images', enabled=progress)
    for split, num in (('train', num_train), ('val', num_val)):
        img_dir = osp.join(out, 'leftImg8bit', split, 'demo')
        sem_dir = osp.join(out, 'gtFine', split, 'demo')
        os.makedirs(img_dir, exist_ok=True)
        os.makedirs(sem_dir, exist_ok=True)
        coco = dict(images=[], annotations=[],
                    categories=[dict(id=i, name=c) for i, c in enumerate(CLASSES)],
                    info=dict(description='mmkd demo: digits on photos', version=VERSION))
        for i in range(num):
            img, boxes, cats, areas, semantic = make_scene(
                rng, sprites, labels, photos, size, max_objects, min_side=min_side,
                max_overlap=max_overlap, clutter=clutter, dim=dim)
            stem = f'{split}_{i:05d}'
            file_name = f'leftImg8bit/{split}/demo/{stem}_leftImg8bit.png'
            Image.fromarray(img).save(osp.join(out, file_name))
            Image.fromarray(semantic).save(osp.join(sem_dir, f'{stem}_gtFine_labelTrainIds.png'))
            coco['images'].append(dict(id=i, file_name=file_name, height=size, width=size))
            for box, cat, area in zip(boxes, cats, areas):
                x1, y1, x2, y2 = (float(v) for v in box)
                coco['annotations'].append(dict(
                    id=len(coco['annotations']) + 1, image_id=i, category_id=cat,
                    bbox=[x1, y1, x2 - x1, y2 - y1], area=area, iscrowd=0, segmentation=[]))
            shown.update(note=f' ({split})')
        os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
        with open(osp.join(out, 'annotations', f'instances_{split}.json'), 'w') as f:
            json.dump(coco, f)
        counts[split] = num
        if split == 'train' and student_images:
            write_student_split(out, coco, student_images)
        if split == 'train' and seg_student_images:
            write_seg_split(out, coco['images'][:seg_student_images], 'train_seg_student.txt')
    with open(osp.join(out, 'VERSION'), 'w') as f:
        f.write(stamp_of(settings) + '\n')
    return counts


def write_student_split(out, coco, n):
    """The first ``n`` train images of ``coco`` as COCO annotations and as an mmseg split file."""
    images = coco['images'][:n]
    ids = {im['id'] for im in images}
    sub = dict(coco, images=images,
               annotations=[a for a in coco['annotations'] if a['image_id'] in ids])
    with open(osp.join(out, 'annotations', 'instances_train_student.json'), 'w') as f:
        json.dump(sub, f)
    write_seg_split(out, images, 'train_student.txt')


def write_seg_split(out, images, name):
    """``images`` (COCO image dicts) as the mmseg split file ``splits/<name>``."""
    os.makedirs(osp.join(out, 'splits'), exist_ok=True)
    with open(osp.join(out, 'splits', name), 'w') as f:
        # mmseg's ann_file: one image per line, under img_path and without its img_suffix
        f.writelines('demo/' + osp.basename(im['file_name'])[:-len('_leftImg8bit.png')] + '\n'
                     for im in images)


def stamp_of(settings):
    """The VERSION line of data built with ``settings`` (DEFAULTS where missing)."""
    settings = {**DEFAULTS, **settings}
    return f'{VERSION} ' + ' '.join(f'{k}={settings[k]}' for k in sorted(DEFAULTS))


def ensure(out, **kwargs):
    """Builds the dataset unless ``out`` already holds this version with these settings."""
    stamp = osp.join(out, 'VERSION')
    if osp.isfile(stamp) and open(stamp).read().strip() == stamp_of(kwargs):
        return False
    build(out, **kwargs)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default='data/mmkd_demo')
    for key, value in {**DEFAULTS, **DEMO}.items():
        flag = '--' + ('train' if key == 'num_train' else 'val' if key == 'num_val' else
                       key.replace('_', '-'))
        kind = float if key in ('max_overlap', 'dim') else int
        parser.add_argument(flag, dest=key, type=kind, default=value)
    args = vars(parser.parse_args(argv))
    out = args.pop('out')
    built = ensure(out, **args)
    print(f'[dataset] {"built" if built else "already present"}: {out}')


if __name__ == '__main__':
    sys.exit(main())
