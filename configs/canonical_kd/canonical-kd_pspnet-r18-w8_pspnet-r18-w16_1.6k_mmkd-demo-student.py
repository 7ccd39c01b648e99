# The canonical segmentation KD baseline on the segmentation benchmark pair (the w8 PSPNet
# student on 50 images, the w16 teacher trained on all 400): pixel KL of the logits (T 1, weight
# 1, the mean over every pixel) plus the mean squared error of the last backbone stage through a
# 1x1 adapter (64 -> 128 channels, weight 1). Settings and measured results:
# configs/canonical_kd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo-student.py', '../_base_/logit_kd_term_cirkd.py']

model = dict(
    kd_terms=dict(
        kd={{_base_.logit_kd}},
        feat=dict(loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=1.0),
                  inputs=['s_backbone', 't_backbone'], levels=[3])))
