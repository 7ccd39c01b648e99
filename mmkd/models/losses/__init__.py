from .feature_imitation import FeatureImitationLoss, feature_imitation
from .logit_kd import LogitKDLoss, logit_kd

__all__ = ['FeatureImitationLoss', 'feature_imitation', 'LogitKDLoss', 'logit_kd']
