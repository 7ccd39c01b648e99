# SKD's pair-wise term alone on Cityscapes (paper Tab. 1: 69.10 -> 71.78 mIoU). One optimizer.
_base_ = ['./skd_pspnet-r18-d8_pspnet-r101-d8_512x512_40k_cityscapes.py']

model = dict(discriminator=None,
             kd_terms=dict(_delete_=True, pair={{_base_.model.kd_terms.pair}}))
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
    clip_grad=None)
param_scheduler = [dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=40000,
                        by_epoch=False)]
