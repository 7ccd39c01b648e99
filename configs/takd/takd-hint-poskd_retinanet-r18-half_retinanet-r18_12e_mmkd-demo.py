# TAKD step 1 (Mirzadeh et al., AAAI 2020): the trained demo teacher (RetinaNet R18, FPN-128)
# distilled into the teacher assistant (R18 at half width, FPN-64) with the demo's terms: a hint
# on P3, P4 (1x1 adapters 64 -> 128 channels) and logit KD on the positive anchors. Step 2 is
# takd-hint-poskd_retinanet-r18-narrow_retinanet-r18-half_12e_mmkd-demo.py; the chain
# takd_retinanet-r18_retinanet-r18-half_retinanet-r18-narrow_chain_mmkd-demo.py runs both.
# configs/takd/README.md.
_base_ = ['./retinanet_r18-half_fpn_12e_mmkd-demo.py', '../_base_/hint_poskd_terms_mmkd-demo.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(config='{{ fileDirname }}/../demo/retinanet_r18_fpn_12e_mmkd-demo.py',
                 checkpoint='work_dirs/demo/teacher/epoch_12.pth'),
    kd_terms={{_base_.hint_poskd_terms}})
custom_hooks = [{{_base_.hint_warmup}}]
