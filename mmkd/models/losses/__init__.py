from .af_dcd import AfDCDLoss, channel_group_tokens, omni_contrastive
from .attention_transfer import AttentionTransferLoss, attention_transfer, spatial_attention
from .bckd import BCKDLocalizationLoss, iou_kd, score_gap_weights
from .bounded_regression import TeacherBoundedRegressionLoss, bounded_regression
from .cirkd import (CIRKDMemoryLoss, ClassMemory, CrossImagePixelRelationLoss,
                    cross_image_pixel_relation)
from .channel_wise import ChannelWiseDivergenceLoss, channel_wise_divergence
from .decoupled_feature import DecoupledFeatureLoss, decoupled_feature
from .feature_imitation import FeatureImitationLoss, feature_imitation
from .fgd import FGDLoss, fgd_attention, focal_global_distillation
from .fine_grained_imitation import FineGrainedImitationLoss, fine_grained_imitation
from .localization_distillation import (LocalizationDistillationLoss, distances_to_bins,
                                       localization_distillation, rebin_distribution)
from .holistic_adversarial import (HolisticAdversarialLoss, critic, gradient_penalty,
                                   score_maps)
from .logit_kd import LogitKDLoss, logit_kd
from .mgd import MGDLoss, generation_error, masked_generation, random_keep_mask
from .pair_wise import PairWiseKDLoss, node_affinity, pair_wise_kd
from .pixel_wise import PixelWiseKDLoss, pixel_wise_kd
from .pkd import PKDLoss, channel_standardise, pearson_kd
from .quality_focal_kd import QualityFocalKDLoss, quality_focal_kd
from .relational import RelationalKDLoss, angle_potential, distance_potential, relational_kd
from .similarity_preserving import (SimilarityPreservingLoss, similarity_matrix,
                                    similarity_preserving)
from .utils import soft_kl
from .weighted_soft_label import WeightedSoftLabelKDLoss, weighted_soft_label

__all__ = ['bounded_regression', 'TeacherBoundedRegressionLoss', 'WeightedSoftLabelKDLoss',
           'DecoupledFeatureLoss', 'FeatureImitationLoss', 'feature_imitation', 'FGDLoss',
           'fgd_attention', 'focal_global_distillation', 'FineGrainedImitationLoss',
           'LocalizationDistillationLoss',
           'distances_to_bins', 'rebin_distribution', 'LogitKDLoss', 'logit_kd',
           'ChannelWiseDivergenceLoss', 'channel_wise_divergence', 'PairWiseKDLoss',
           'node_affinity', 'HolisticAdversarialLoss', 'critic', 'gradient_penalty',
           'score_maps', 'pair_wise_kd', 'PixelWiseKDLoss', 'pixel_wise_kd',
           'AttentionTransferLoss', 'attention_transfer', 'spatial_attention',
           'RelationalKDLoss', 'angle_potential', 'distance_potential', 'relational_kd',
           'SimilarityPreservingLoss', 'similarity_matrix', 'similarity_preserving',
           'decoupled_feature', 'fine_grained_imitation', 'localization_distillation',
           'weighted_soft_label', 'soft_kl', 'MGDLoss', 'masked_generation', 'random_keep_mask',
           'PKDLoss', 'channel_standardise', 'pearson_kd', 'QualityFocalKDLoss',
           'quality_focal_kd', 'BCKDLocalizationLoss', 'iou_kd', 'score_gap_weights',
           'CIRKDMemoryLoss', 'ClassMemory', 'CrossImagePixelRelationLoss',
           'cross_image_pixel_relation', 'AfDCDLoss', 'channel_group_tokens',
           'omni_contrastive', 'generation_error']
