import hashlib
import json
import os.path as osp

import numpy as np
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
