# TAKD step 2 (Mirzadeh et al., AAAI 2020): the teacher assistant (RetinaNet R18 at half width,
# FPN-64) distilled into the narrow demo student with the demo distill config's terms (hint on
# P3, P4 through 1x1 adapters 32 -> 64 channels, logit KD on the positive anchors).
# tools/distill_chain.py fills model.teacher.config / .checkpoint with the trained assistant's
# export (takd_retinanet-r18_retinanet-r18-half_retinanet-r18-narrow_chain_mmkd-demo.py); to run
# this config alone, set model.teacher.checkpoint to a trained assistant. configs/takd/README.md.
_base_ = ['../demo/hint-poskd_retinanet-r18-narrow_retinanet-r18_12e_mmkd-demo.py']

model = dict(
    teacher=dict(config='{{ fileDirname }}/retinanet_r18-half_fpn_12e_mmkd-demo.py',
                 checkpoint=None))
