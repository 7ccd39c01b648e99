# SKD's pixel-wise term alone on the segmentation benchmark pair (the w8 student on 50 images,
# the w16 teacher on 400): weight 10 (the paper's), the mean over the labelled pixels.
# Settings and measured results: configs/skd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo-student.py', '../_base_/skd_terms_mmkd-demo.py']

model = dict(kd_terms=dict(pixel={{_base_.skd_pixel}}))
