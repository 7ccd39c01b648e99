_base_ = ['../_base_/skd_adversarial_pspnet_mmkd-demo.py']

model = dict(kd_terms=dict(holistic={{_base_.skd_holistic}}, pixel={{_base_.skd_pixel}},
                           pair={{_base_.skd_pair}}))
