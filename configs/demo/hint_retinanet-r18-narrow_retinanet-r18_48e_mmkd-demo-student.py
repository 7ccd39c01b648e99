# The hint baseline alone (FitNets) on the RetinaNet benchmark pair: the demo's hint term of
# hint-poskd_... (P3, P4, 1x1 adapters, mean squared difference, w=3, warmed up over the first
# 50 iterations) without the logit KD. The feature-KD methods (PKD, MGD, FGD ...) are measured
# against it as well as against the student alone. Results: configs/demo/README.md.
_base_ = ['../_base_/distill_retinanet_mmkd-demo-student.py',
          '../_base_/hint_poskd_terms_mmkd-demo.py']

model = dict(kd_terms=dict(hint={{_base_.hint_poskd_terms.hint}}))
custom_hooks = [{{_base_.hint_warmup}}]
