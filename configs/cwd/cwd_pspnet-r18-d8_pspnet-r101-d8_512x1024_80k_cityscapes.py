# CWD on Cityscapes (Shu et al., ICCV 2021): PSPNet R101 -> PSPNet R18 on the decode-head logits,
# temperature 4, weight 3 (the official segmentation setting), mmseg's 512 x 1024 80k schedule.
# MMRazor's run of this pair: 74.87 -> 75.54 mIoU. Settings and demo results: configs/cwd/README.md.
_base_ = ['../_base_/distill_pspnet-r101_pspnet-r18_cityscapes.py']

model = dict(
    kd_terms=dict(
        cwd=dict(loss=dict(type='mmkd.ChannelWiseDivergenceLoss', temperature=4.0,
                           loss_weight=3.0),
                 inputs=['s_logits', 't_logits'])))
