_base_ = ['./skd-holistic_pspnet-r18-w16_pspnet-r18-w32_0.8k_mmkd-demo.py']

model = dict(kd_terms=dict(pixel={{_base_.skd_pixel}}, pair={{_base_.skd_pair}}))
