import hashlib
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from tools.dataset.make_demo_data import CLASSES, build, ensure


def digest(path):
    return hashlib.md5(open(path, 'rb').read()).hexdigest()


def test_coco_boxes_match_the_semantic_labels(demo_data):
    """Each COCO box is the tight box of its digit's label pixels (value 1 + category), which
    cover its strokes (``area``) and more (widened strokes)."""
    coco = json.load(open(osp.join(demo_data, 'annotations', 'instances_train.json')))
    assert [c['name'] for c in coco['categories']] == list(CLASSES)
    images = {im['id']: im for im in coco['images']}
    assert len(images) == 16 and len(coco['annotations']) >= 16
    for ann in coco['annotations']:
        image = images[ann['image_id']]
        stem = osp.basename(image['file_name']).replace('_leftImg8bit.png', '')
        sem = np.asarray(Image.open(osp.join(demo_data, 'gtFine', 'train', 'demo',
                                             f'{stem}_gtFine_labelTrainIds.png')))
        assert sem.shape == (image['height'], image['width'])
        x, y, w, h = (int(v) for v in ann['bbox'])
        inside = sem[y:y + h, x:x + w] == 1 + ann['category_id']
        assert inside.any(axis=0)[[0, -1]].all() and inside.any(axis=1)[[0, -1]].all()
        assert inside.sum() > ann['area']  # no two digits overlap in this tiny set
        assert 0 <= x and x + w <= image['width'] and 0 <= y and y + h <= image['height']
    assert set(np.unique(sem)) <= {0, *range(1, 11)}


def test_deterministic_and_ensure_skips_existing(tmp_path):
    a, b = str(tmp_path / 'a'), str(tmp_path / 'b')
    build(a, num_train=3, num_val=2, progress=False)
    build(b, num_train=3, num_val=2, progress=False)
    for rel in ('annotations/instances_val.json',
                'leftImg8bit/train/demo/train_00002_leftImg8bit.png',
                'gtFine/val/demo/val_00001_gtFine_labelTrainIds.png'):
        assert digest(osp.join(a, rel)) == digest(osp.join(b, rel))
    assert ensure(a, num_train=3, num_val=2) is False
    assert ensure(a, num_train=4, num_val=2) is True


def test_progress_lines(tmp_path, capsys):
    """progress=True: a line with the elapsed time and ETA at the first and the last image (5
    images take well under the 5 s between lines); progress=False: nothing."""
    build(str(tmp_path / 'a'), num_train=3, num_val=2)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(',')[0] for line in lines] == ['[dataset] images 1/5 (train)',
                                                      '[dataset] images 5/5 (val)']
    assert lines[-1].endswith('ETA 0:00') and 'elapsed 0:0' in lines[-1]
    build(str(tmp_path / 'b'), num_train=3, num_val=2, progress=False)
    assert capsys.readouterr().out == ''


def test_subsets_are_the_first_train_images(tmp_path):
    """A subset of n train images: the first n images with exactly their annotations, and the
    same n images through mmseg's ann_file (a split file), read by the demo's dataset config."""
    from mmengine.config import Config
    from mmseg.registry import DATASETS
    from mmseg.utils import register_all_modules
    out = str(tmp_path / 'd')
    build(out, num_train=5, num_val=2, student_images=3, seg_student_images=2, progress=False)
    full = json.load(open(osp.join(out, 'annotations', 'instances_train.json')))
    sub = json.load(open(osp.join(out, 'annotations', 'instances_train_student.json')))
    assert sub['images'] == full['images'][:3]
    assert sub['annotations'] == [a for a in full['annotations'] if a['image_id'] < 3]
    assert sub['categories'] == full['categories']

    register_all_modules()
    cfg = Config.fromfile(osp.join(osp.dirname(osp.dirname(osp.dirname(__file__))), 'configs',
                                   '_base_', 'datasets', 'mmkd_demo_segmentation.py'))
    dataset_cfg = cfg.train_dataloader.dataset
    dataset_cfg.update(data_root=out, ann_file='splits/train_student.txt')
    dataset = DATASETS.build(dataset_cfg)
    assert [osp.basename(d['img_path']) for d in dataset.load_data_list()] == [
        osp.basename(im['file_name']) for im in full['images'][:3]]
    dataset_cfg.update(ann_file='splits/train_seg_student.txt')
    assert [osp.basename(d['img_path']) for d in DATASETS.build(dataset_cfg).load_data_list()] \
        == [osp.basename(im['file_name']) for im in full['images'][:2]]
    with pytest.raises(ValueError, match='seg_student_images=9: there are only 5 train images'):
        build(out, num_train=5, num_val=2, seg_student_images=9, progress=False)
    with pytest.raises(ValueError, match='student_images=3: there are only 2 train images'):
        build(out, num_train=2, num_val=1, student_images=3, progress=False)
    # refused before anything was written: the data built before is still whole
    assert ensure(out, num_train=5, num_val=2, student_images=3, seg_student_images=2) is False
    build(out, num_train=5, num_val=2, progress=False)  # without a student split: none left
    assert not osp.exists(osp.join(out, 'splits', 'train_student.txt'))
    assert not osp.exists(osp.join(out, 'splits', 'train_seg_student.txt'))


def test_default_scenes_are_version_2(tmp_path):
    """The generator's defaults draw the scenes of the data's version 2 (the earlier tables'
    data): annotations and pixels pinned from a build by the version-2 generator (3 train and 2
    val images)."""
    out = str(tmp_path / 'v2')
    build(out, num_train=3, num_val=2, progress=False)
    assert digest(osp.join(out, 'annotations', 'instances_train.json')) == \
        '9bcb577e20238b40bfc90b52565b7ffa'
    for rel, md5 in (
            ('leftImg8bit/train/demo/train_00002_leftImg8bit.png',
             '373d08af560909cc793003f7ef498f2b'),
            ('gtFine/val/demo/val_00001_gtFine_labelTrainIds.png',
             'e401e4a2f7579d883a26c98a70934a03')):
        pixels = np.asarray(Image.open(osp.join(out, rel))).tobytes()
        assert hashlib.md5(pixels).hexdigest() == md5, rel


def test_scene_options():
    """Clutter is never labelled: every label pixel lies in a digit's box, also with 4
    distractors per scene. max_overlap=0.5 lets digits overlap, which the default (0.05)
    nearly never does."""
    from tools.dataset.make_demo_data import load_sources, make_scene
    sprites, labels, photos = load_sources()

    def overlaps(scenes):
        count = 0
        for _, b, _, _, _ in scenes:
            for i in range(len(b)):
                for j in range(i):
                    w = min(b[i, 2], b[j, 2]) - max(b[i, 0], b[j, 0])
                    h = min(b[i, 3], b[j, 3]) - max(b[i, 1], b[j, 1])
                    count += bool(w > 2 and h > 2)
        return count

    rng = np.random.RandomState(0)
    cluttered = [make_scene(rng, sprites, labels, photos, 160, 4, clutter=4) for _ in range(10)]
    for _, boxes, _, _, semantic in cluttered:
        inside = np.zeros_like(semantic, dtype=bool)
        for x1, y1, x2, y2 in boxes.astype(int):
            inside[y1:y2, x1:x2] = True
        assert not (semantic[~inside] > 0).any()
    rng = np.random.RandomState(0)
    loose = overlaps(make_scene(rng, sprites, labels, photos, 160, 6, max_overlap=0.5)
                     for _ in range(30))
    rng = np.random.RandomState(0)
    tight = overlaps(make_scene(rng, sprites, labels, photos, 160, 6) for _ in range(30))
    assert loose > 3 * max(tight, 1)
