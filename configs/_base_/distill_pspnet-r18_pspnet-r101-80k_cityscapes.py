# The Cityscapes pair of distill_pspnet-r18_pspnet-r101_cityscapes.py with the teacher MMRazor's
# CWD run used: mmseg's PSPNet R101-d8 trained 80k (79.76 mIoU) instead of 40k. Teacher weights:
# download mmseg's pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-e1e1100f.pth into
# checkpoints/.
_base_ = ['./distill_pspnet-r18_pspnet-r101_cityscapes.py']

model = dict(
    teacher=dict(
        config='mmseg::pspnet/pspnet_r101-d8_4xb2-80k_cityscapes-512x1024.py',
        checkpoint='checkpoints/pspnet_r101-d8_512x1024_80k_cityscapes_20200606_112211-'
                   'e1e1100f.pth'))
