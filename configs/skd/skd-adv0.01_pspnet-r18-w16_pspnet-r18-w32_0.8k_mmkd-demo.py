# SKD, all three terms on the demo, with the holistic (adversarial) weight at 0.01 instead of the
# paper's 0.1. The demo student starts from scratch (the paper's from ImageNet) and trains for 800
# iterations: at 0.1 the critic's gradient outweighs the task loss's and the holistic term alone
# costs about 10 mIoU. Results: configs/skd/README.md.
_base_ = ['./skd_pspnet-r18-w16_pspnet-r18-w32_0.8k_mmkd-demo.py']

model = dict(kd_terms=dict(holistic=dict(loss=dict(adv_weight=0.01))))
