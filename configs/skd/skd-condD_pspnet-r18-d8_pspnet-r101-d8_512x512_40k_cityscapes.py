# SKD on Cityscapes with mmkd's image-conditioned critic instead of the reference one: D reads the
# softmax maps and the image (mmkd.SegDiscriminator, spectral norm on every conv, no BatchNorm),
# its loss unscaled (gradient penalty 10), trained with Adam lr 4e-4 at a constant rate. The
# pixel-wise and pair-wise terms and the schedule are the reference ones of the config it
# derives from. No published result of this variant.
_base_ = ['./skd_pspnet-r18-d8_pspnet-r101-d8_512x512_40k_cityscapes.py']

model = dict(
    discriminator=dict(_delete_=True, type='mmkd.SegDiscriminator', base_channels=64,
                       num_layers=4, self_attention=True),
    kd_terms=dict(
        holistic=dict(loss=dict(_delete_=True, type='mmkd.HolisticAdversarialLoss',
                                adv_weight=0.1, gp_weight=10.0),
                      inputs=['s_logits', 't_logits', 'img'])))
optim_wrapper = dict(
    discriminator=dict(_delete_=True, type='OptimWrapper',
                       optimizer=dict(type='Adam', lr=4e-4, betas=(0.9, 0.99))))
param_scheduler = dict(discriminator=[])
