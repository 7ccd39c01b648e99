# CWD on the demo's decode-head logits: each class channel's spatial distribution
# (softmax over H x W at temperature 4) of the student matches the teacher's, weight 3.
# Settings and measured results: configs/cwd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo.py']

model = dict(
    kd_terms=dict(
        cwd=dict(loss=dict(type='mmkd.ChannelWiseDivergenceLoss', temperature=4.0,
                           loss_weight=3.0),
                 inputs=['s_logits', 't_logits'])))
