_base_ = ['../_base_/distill_pspnet_mmkd-demo.py', '../_base_/skd_terms_mmkd-demo.py']

model = dict(kd_terms=dict(pair={{_base_.skd_pair}}))
