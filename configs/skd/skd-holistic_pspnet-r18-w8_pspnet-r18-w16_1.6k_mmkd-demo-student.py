# SKD's holistic term alone on the segmentation benchmark pair: WGAN-GP between the student's
# and the teacher's score maps, the discriminator trained beside the student with its own
# optimizer (the paper's weights). Settings and measured results: configs/skd/README.md.
_base_ = ['../_base_/skd_adversarial_pspnet_mmkd-demo-student.py']

model = dict(kd_terms=dict(holistic={{_base_.skd_holistic}}))
