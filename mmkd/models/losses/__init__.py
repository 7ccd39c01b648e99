from .feature_imitation import FeatureImitationLoss, feature_imitation
from .fgd import FGDLoss, fgd_attention
from .logit_kd import LogitKDLoss, logit_kd

__all__ = ['FeatureImitationLoss', 'feature_imitation', 'FGDLoss', 'fgd_attention',
           'LogitKDLoss', 'logit_kd']
