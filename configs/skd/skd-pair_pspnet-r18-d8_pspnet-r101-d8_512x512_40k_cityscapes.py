# SKD's pair-wise term alone on Cityscapes (paper Tab. 1: 69.10 -> 71.78 mIoU). One optimizer, as
# in the pixel-wise config it derives from.
_base_ = ['./skd-pixel_pspnet-r18-d8_pspnet-r101-d8_512x512_40k_cityscapes.py']

model = dict(
    kd_terms=dict(
        _delete_=True,
        pair={{_base_.model.kd_terms.pair}}))
