# SKD's holistic (adversarial, WGAN-GP) term alone on Cityscapes, with its discriminator and the
# two optimizers of the full setting.
_base_ = ['./skd_pspnet-r18-d8_pspnet-r101-d8_512x512_40k_cityscapes.py']

model = dict(kd_terms=dict(_delete_=True, holistic={{_base_.model.kd_terms.holistic}}))
