_base_ = ['../_base_/distill_pspnet_mmkd-demo.py', '../_base_/skd_terms_mmkd-demo.py']

# the holistic term's discriminator, trained beside the student with its own optimizer
model = dict(
    discriminator={{_base_.skd_discriminator}},
    disc_steps=1,
    kd_terms=dict(holistic={{_base_.skd_holistic}}, pixel={{_base_.skd_pixel}},
                  pair={{_base_.skd_pair}}))
optim_wrapper = dict(
    _delete_=True,
    constructor='mmkd.MultiOptimWrapperConstructor',
    student={{_base_.optim_wrapper}},
    discriminator={{_base_.skd_disc_optim}})
param_scheduler = dict(_delete_=True, student={{_base_.param_scheduler}}, discriminator=[])
