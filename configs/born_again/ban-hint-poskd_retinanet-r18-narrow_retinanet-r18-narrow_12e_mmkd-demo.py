# A born-again generation (Furlanello et al., ICML 2018) of the narrow demo student: the teacher
# is the same architecture, the previous generation's trained student. The KD terms are the demo
# distill config's (hint on P3, P4 + logit KD on the positive anchors); with equal channels the
# hint needs no adapter. tools/distill_chain.py fills model.teacher.config / .checkpoint with
# the previous generation's export (ban_retinanet-r18-narrow_chain_mmkd-demo.py); to run this
# config alone, set model.teacher.checkpoint to a trained narrow student.
# configs/born_again/README.md.
_base_ = ['../demo/hint-poskd_retinanet-r18-narrow_retinanet-r18_12e_mmkd-demo.py']

model = dict(
    teacher=dict(config='{{ fileDirname }}/../demo/retinanet_r18-narrow_fpn_12e_mmkd-demo.py',
                 checkpoint=None))
