# the segmentation benchmark pair (w16 -> w8 on 50 images), SKD's terms at hand and the holistic
# term's discriminator trained beside the student by its own optimizer (Adam, lr 4e-4): the base
# of the SKD configs that use the holistic term, which add their kd_terms. Written once per pair:
# a base variable (_base_.optim_wrapper) reaches only the bases of the file that names it.
_base_ = ['./distill_pspnet_mmkd-demo-student.py', './skd_terms_mmkd-demo.py']

model = dict(
    discriminator={{_base_.skd_discriminator}},
    disc_steps=1)
optim_wrapper = dict(
    _delete_=True,
    constructor='mmkd.MultiOptimWrapperConstructor',
    student={{_base_.optim_wrapper}},
    discriminator={{_base_.skd_disc_optim}})
param_scheduler = dict(_delete_=True, student={{_base_.param_scheduler}}, discriminator=[])
