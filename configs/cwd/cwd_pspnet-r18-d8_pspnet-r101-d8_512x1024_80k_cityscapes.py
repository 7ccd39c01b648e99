# CWD on Cityscapes (Shu et al., ICCV 2021) as MMRazor ran it, the run whose numbers we cite:
# PSPNet R101-d8 teacher trained 80k (mmseg's model zoo, 79.76 mIoU) -> PSPNet R18-d8, on the
# decode-head logits before upsampling, temperature 1, weight 5, mmseg's 512 x 1024 80k schedule
# (4 GPUs x 2 images). Our loss is MMRazor's: T^2 / (N C) sum_{n,c} KL over H x W.
# MMRazor: 74.87 -> 75.54 mIoU. The official repository's T = 4, weight 3:
# cwd-t4_pspnet-r18-d8_pspnet-r101-d8_512x1024_80k_cityscapes.py. Demo results:
# configs/cwd/README.md.
# Teacher weights: configs/_base_/distill_pspnet-r18_pspnet-r101-80k_cityscapes.py.
_base_ = ['../_base_/distill_pspnet-r18_pspnet-r101-80k_cityscapes.py']

model = dict(
    kd_terms=dict(
        cwd=dict(loss=dict(type='mmkd.ChannelWiseDivergenceLoss', temperature=1.0,
                           loss_weight=5.0),
                 inputs=['s_logits', 't_logits'])))
