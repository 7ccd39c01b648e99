# SKD's pair-wise term alone on the segmentation benchmark pair: weight 1 (the paper's).
# Settings and measured results: configs/skd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo-student.py', '../_base_/skd_terms_mmkd-demo.py']

model = dict(kd_terms=dict(pair={{_base_.skd_pair}}))
