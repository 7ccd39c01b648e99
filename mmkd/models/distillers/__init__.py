from .base import BaseDistiller, KDTermsModel, is_distiller
from .detection import DetectionDistiller
from .mutual import MutualLearningDistiller
from .segmentation import SegmentationDistiller

__all__ = ['BaseDistiller', 'DetectionDistiller', 'KDTermsModel', 'MutualLearningDistiller',
           'SegmentationDistiller', 'is_distiller']
