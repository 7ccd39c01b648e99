# CWD on the decode-head logits of the segmentation benchmark pair: each class channel's spatial
# distribution (softmax over H x W at temperature 4) of the w8 student on 50 images matches the
# w16 teacher's (trained on all 400), weight 3. Settings and measured results:
# configs/cwd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo-student.py']

model = dict(
    kd_terms=dict(
        cwd=dict(loss=dict(type='mmkd.ChannelWiseDivergenceLoss', temperature=4.0,
                           loss_weight=3.0),
                 inputs=['s_logits', 't_logits'])))
