from .base import BaseDistiller, KDTermsModel
from .detection import DetectionDistiller
from .mutual import MutualLearningDistiller
from .segmentation import SegmentationDistiller

__all__ = ['BaseDistiller', 'DetectionDistiller', 'KDTermsModel', 'MutualLearningDistiller',
           'SegmentationDistiller']
