# SKD, all three terms on the segmentation benchmark pair (the paper's weights): pixel-wise KD
# (10), pair-wise KD (1) and the holistic WGAN-GP term (0.1), the discriminator trained beside
# the student. Settings and measured results: configs/skd/README.md.
_base_ = ['../_base_/skd_adversarial_pspnet_mmkd-demo-student.py']

model = dict(kd_terms=dict(holistic={{_base_.skd_holistic}}, pixel={{_base_.skd_pixel}},
                           pair={{_base_.skd_pair}}))
