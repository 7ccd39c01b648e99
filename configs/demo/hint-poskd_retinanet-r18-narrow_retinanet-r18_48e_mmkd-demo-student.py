# The demo's distilled student: the converged 200-image student of
# retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py distilled from the 24-epoch teacher (trained
# on all 400 images) with the two terms of the 12-epoch demo config: a hint on P3, P4 (w=3,
# 1x1 adapters, warmed up over the first 50 iterations) and logit KD on the positive anchors
# (T=2, w=2). Settings and measured results: configs/demo/README.md.
_base_ = ['../_base_/distill_retinanet_mmkd-demo-student.py',
          '../_base_/hint_poskd_terms_mmkd-demo.py']

model = dict(kd_terms={{_base_.hint_poskd_terms}})
custom_hooks = [{{_base_.hint_warmup}}]
