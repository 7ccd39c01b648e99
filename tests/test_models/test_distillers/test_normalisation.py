"""normalisation_of: the one reading of a data preprocessor's normalisation that the teacher's
input conversion and the mutual-learning members' check share; label_maps of a batch."""
import pytest
import torch
from mmdet.models.data_preprocessors import DetDataPreprocessor
from mmengine.structures import PixelData
from mmseg.structures import SegDataSample

from mmkd.models.distillers.teacher import normalisation_of
from mmkd.structures import label_maps


def test_a_preprocessor_that_does_not_normalise_reads_as_the_identity():
    plain = DetDataPreprocessor()
    identity = DetDataPreprocessor(mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0])
    assert normalisation_of(plain) == normalisation_of(identity) == ([0.0] * 3, [1.0] * 3, False)
    imagenet = DetDataPreprocessor(mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375],
                                   bgr_to_rgb=True)
    mean, std, rgb = normalisation_of(imagenet)
    assert mean == pytest.approx([123.675, 116.28, 103.53]) and std[0] == pytest.approx(58.395)
    assert rgb


def test_label_maps_and_their_valid_pixels():
    samples = []
    for value in (1, 255):
        gt = torch.full((1, 2, 3), value, dtype=torch.uint8)
        gt[0, 0, 0] = 0
        samples.append(SegDataSample(gt_sem_seg=PixelData(data=gt)))
    gt, valid = label_maps(samples, ignore_index=255)
    assert gt.dtype == torch.long and gt.shape == (2, 2, 3)
    assert valid.sum().item() == 6 + 1 and not valid[1, 1, 2] and valid[1, 0, 0]
