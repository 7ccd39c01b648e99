# SKD's pair-wise term alone on Cityscapes (paper Tab. 1: 69.10 -> 71.78 mIoU). One optimizer, as
# in the pixel-wise config it derives from; weight 0.5 on the feature after the decode head's
# dropout, as the reference run.
_base_ = ['./skd-pixel_pspnet-r18-d8_pspnet-r101-d8_512x512_40k_cityscapes.py']

model = dict(
    kd_terms=dict(
        _delete_=True,
        pair=dict(loss=dict(type='mmkd.PairWiseKDLoss', pool_scale=0.5, loss_weight=0.5),
                  inputs=['s_dropout_feat', 't_dropout_feat'])))
