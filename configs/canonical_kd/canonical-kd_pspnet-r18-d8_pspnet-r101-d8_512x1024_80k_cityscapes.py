# The canonical segmentation KD baseline: logit KD plus feature MSE through an adapter, the two
# objectives a 2026 study (arXiv:2604.25530) finds beating the segmentation-specific methods once
# the wall-clock compute is matched. PSPNet R101-d8 (mmseg's 80k model, 79.76 mIoU; the study's
# teacher has 79.8) -> PSPNet R18-d8, mmseg's 512 x 1024 80k schedule (4 GPUs x 2 images):
# - kd: each pixel's class distribution of the logits, teacher to student, T 1, weight 1, the
#   mean over every pixel (CIRKD's codebase's logit KD);
# - feat: the mean squared error between the student's last backbone stage through a 1x1
#   adapter (512 -> 2048 channels) and the teacher's, weight 1.
# The study's own temperature, feature layer and weights were not available to us: these are
# the canonical settings of CIRKD's codebase, and docs/canonical_kd.md says so. Teacher weights:
# configs/_base_/distill_pspnet-r18_pspnet-r101-80k_cityscapes.py.
_base_ = ['../_base_/distill_pspnet-r18_pspnet-r101-80k_cityscapes.py',
          '../_base_/logit_kd_term_cirkd.py']

model = dict(
    kd_terms=dict(
        kd={{_base_.logit_kd}},
        feat=dict(loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=1.0),
                  inputs=['s_backbone', 't_backbone'], levels=[3])))
