_base_ = ['../_base_/skd_adversarial_pspnet_mmkd-demo.py']

model = dict(kd_terms=dict(holistic={{_base_.skd_holistic}}))
