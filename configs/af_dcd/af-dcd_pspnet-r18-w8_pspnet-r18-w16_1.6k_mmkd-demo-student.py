# Af-DCD on the segmentation benchmark pair (the w8 PSPNet student on 50 images, the w16 teacher
# trained on all 400): the reference terms and weights on the backbone's last stage (64 student
# channels, 128 teacher channels, 20 x 20 at stride 8). The reference max-pools its 64 x 128 map
# by 4 before the 4x4 patches; the demo's 20 x 20 map is pooled by 5 to one 4x4 patch.
# Settings and measured results: configs/af_dcd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo-student.py', '../_base_/logit_kd_term_cirkd.py']

model = dict(
    kd_terms=dict(
        kd={{_base_.logit_kd}},
        af_dcd=dict(loss=dict(type='mmkd.AfDCDLoss', student_channels=64, teacher_channels=128,
                              fd_weight=2e-6, ctr_weight=0.005, pool=5),
                    inputs=['s_backbone', 't_backbone'], levels=[3])))
