# MGD for segmentation on the segmentation benchmark pair (the w8 PSPNet student on 50 images,
# the w16 teacher trained on all 400), the reference settings: on the backbone's last stage (a
# 1x1 conv lifts the student's 64 channels to the teacher's 128), 75% of the positions masked,
# alpha 2e-5; with the channel-wise KD of the logits (T 4, weight 3) that the reference configs
# add. Settings and measured results: configs/mgd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo-student.py']

model = dict(
    kd_terms=dict(
        mgd=dict(loss=dict(type='mmkd.MGDLoss', student_channels=64, teacher_channels=128,
                           alpha_mgd=2e-5, lambda_mgd=0.75),
                 inputs=['s_backbone', 't_backbone'], levels=[3]),
        cwd=dict(loss=dict(type='mmkd.ChannelWiseDivergenceLoss', temperature=4.0,
                           loss_weight=3.0),
                 inputs=['s_logits', 't_logits'])))
