# Distil the narrow demo student from the demo teacher with two terms:
# - hint: a FitNet-style hint on the FPN levels P3 and P4 (strides 8 and 16, where the demo's
#   26-53 px digits are assigned); a 1x1 adapter per level lifts the student's 32 channels to the
#   teacher's 128, and the mean squared difference to the teacher's feature is the loss;
# - cls_pos: logit KD (per-class binary KL, T=2) on the anchors the student's assigner marks
#   positive, normalised by their number like the student's focal loss.
# Settings and measured results: configs/demo/README.md.
_base_ = ['../_base_/distill_retinanet_mmkd-demo.py', '../_base_/hint_poskd_terms_mmkd-demo.py']

model = dict(kd_terms={{_base_.hint_poskd_terms}})
custom_hooks = [{{_base_.hint_warmup}}]
