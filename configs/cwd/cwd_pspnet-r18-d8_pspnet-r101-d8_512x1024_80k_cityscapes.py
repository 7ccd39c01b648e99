# CWD on Cityscapes (Shu et al., ICCV 2021) as MMRazor ran it, the run whose numbers we cite:
# PSPNet R101-d8 teacher trained 80k (mmseg's model zoo, 79.76 mIoU) -> PSPNet R18-d8, on the
# decode-head logits before upsampling, temperature 1, weight 5, mmseg's 512 x 1024 80k schedule
# (4 GPUs x 2 images). Our loss is MMRazor's: T^2 / (N C) sum_{n,c} KL over H x W.
# MMRazor: 74.87 -> 75.54 mIoU. The official repository's T = 4, weight 3:
# cwd-t4_pspnet-r18-d8_pspnet-r101-d8_512x1024_80k_cityscapes.py. Demo results:
# configs/cwd/README.md.
# Teacher weights: download mmseg's
#   pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth into checkpoints/.
_base_ = ['../_base_/distill_pspnet-r18_pspnet-r101_cityscapes.py']

model = dict(
    teacher=dict(
        config='mmseg::pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py',
        checkpoint='checkpoints/pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-'
                   'e1e1100f.pth'),
    kd_terms=dict(
        cwd=dict(loss=dict(type='mmkd.ChannelWiseDivergenceLoss', temperature=1.0,
                           loss_weight=5.0),
                 inputs=['s_logits', 't_logits'])))
