# CIRKD (Yang et al., CVPR 2022) in its paper's setting: DeepLabV3 R101 -> R18 on Cityscapes,
# 40k iterations of 8 GPUs x 2 images (configs/_base_/distill_deeplabv3-r18_deeplabv3-r101_40k_
# cityscapes.py). The terms, on the decode head's last feature (the classifier's input; the
# student's after its dropout, as the reference code) and the logits before upsampling:
# - kd: pixel KL of the logits, T 1, weight 1, the mean over every pixel (ignored ones too);
# - cirkd_minibatch: pixel-to-pixel relations across each process's images, tau 0.1, weight 1;
# - cirkd_memory: pixel-to-pixel and pixel-to-region relations to teacher memories (20000
#   pixels and 2000 regions per class, 4096 / 1024 sampled), tau 0.1, T 1, weights 0.1 / 0.1.
# Published (CIRKD's own codebase, teacher 78.07): 74.21 -> 76.38 mIoU. mmseg's ASPP head has
# 128 channels for R18 as CIRKD's, 512 for R101 where CIRKD's has 256: docs/cirkd.md.
_base_ = ['../_base_/distill_deeplabv3-r18_deeplabv3-r101_40k_cityscapes.py', '../_base_/logit_kd_term_cirkd.py']

model = dict(
    kd_terms=dict(
        kd={{_base_.logit_kd}},
        cirkd_minibatch=dict(loss=dict(type='mmkd.CrossImagePixelRelationLoss',
                                       temperature=0.1, loss_weight=1.0),
                             inputs=['s_dropout_feat', 't_decode_feat']),
        cirkd_memory=dict(loss=dict(type='mmkd.CIRKDMemoryLoss', student_channels=128,
                                    teacher_channels=512, num_classes=19,
                                    norm_cfg=dict(type='SyncBN')),
                          inputs=['s_dropout_feat', 't_decode_feat', 'gt_seg'])))
