# CIRKD on the segmentation benchmark pair (the w8 PSPNet student on 50 images, the w16 teacher
# trained on all 400): the paper's terms and weights on the decode head's last feature (16
# student, 32 teacher channels) and logits. The memories are smaller than the paper's 20000
# pixels and 2000 regions per class, which would hold the 50 images' pixels many times over:
# 2000 pixels and 200 regions per class (the sampled 4096 // 11 + 1 = 373 pixel and
# 1024 // 11 + 1 = 94 region keys per class are the paper's). Settings and measured results:
# configs/cirkd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo-student.py', '../_base_/logit_kd_term_cirkd.py']

model = dict(
    kd_terms=dict(
        kd={{_base_.logit_kd}},
        cirkd_minibatch=dict(loss=dict(type='mmkd.CrossImagePixelRelationLoss',
                                       temperature=0.1, loss_weight=1.0),
                             inputs=['s_dropout_feat', 't_decode_feat']),
        cirkd_memory=dict(loss=dict(type='mmkd.CIRKDMemoryLoss', student_channels=16,
                                    teacher_channels=32, num_classes=11,
                                    pixel_memory_size=2000, region_memory_size=200),
                          inputs=['s_dropout_feat', 't_decode_feat', 'gt_seg'])))
