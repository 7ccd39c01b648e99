# CWD on Cityscapes with the official repository's segmentation setting, temperature 4, weight 3,
# on the same pair and schedule as MMRazor's run (cwd_pspnet-r18-d8_...py). No measured result of
# this exact pair and schedule is published; the paper's table uses its own baseline.
_base_ = ['./cwd_pspnet-r18-d8_pspnet-r101-d8_512x1024_80k_cityscapes.py']

model = dict(kd_terms=dict(cwd=dict(loss=dict(temperature=4.0, loss_weight=3.0))))
