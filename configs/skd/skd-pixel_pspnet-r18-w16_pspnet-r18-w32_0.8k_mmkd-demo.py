_base_ = ['../_base_/distill_pspnet_mmkd-demo.py', '../_base_/skd_terms_mmkd-demo.py']

model = dict(kd_terms=dict(pixel={{_base_.skd_pixel}}))
