# SKD's holistic term alone on the segmentation benchmark pair: WGAN-GP between the student's
# and the teacher's score maps, the discriminator trained beside the student with its own
# optimizer (the paper's weights). Settings and measured results: configs/skd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo-student.py', '../_base_/skd_terms_mmkd-demo.py']

model = dict(
    discriminator={{_base_.skd_discriminator}},
    disc_steps=1,
    kd_terms=dict(holistic={{_base_.skd_holistic}}))
optim_wrapper = dict(
    _delete_=True,
    constructor='mmkd.MultiOptimWrapperConstructor',
    student={{_base_.optim_wrapper}},
    discriminator={{_base_.skd_disc_optim}})
param_scheduler = dict(_delete_=True, student={{_base_.param_scheduler}}, discriminator=[])
