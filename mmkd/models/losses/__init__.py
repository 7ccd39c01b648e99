from .bounded_regression import TeacherBoundedRegressionLoss, bounded_regression
from .decoupled_feature import DecoupledFeatureLoss
from .feature_imitation import FeatureImitationLoss, feature_imitation
from .fgd import FGDLoss, fgd_attention
from .fine_grained_imitation import FineGrainedImitationLoss
from .localization_distillation import (LocalizationDistillationLoss, distances_to_bins,
                                       rebin_distribution)
from .logit_kd import LogitKDLoss, logit_kd
from .weighted_soft_label import WeightedSoftLabelKDLoss

__all__ = ['bounded_regression', 'TeacherBoundedRegressionLoss', 'WeightedSoftLabelKDLoss',
           'DecoupledFeatureLoss', 'FeatureImitationLoss', 'feature_imitation', 'FGDLoss',
           'fgd_attention', 'FineGrainedImitationLoss', 'LocalizationDistillationLoss',
           'distances_to_bins', 'rebin_distribution', 'LogitKDLoss', 'logit_kd']
