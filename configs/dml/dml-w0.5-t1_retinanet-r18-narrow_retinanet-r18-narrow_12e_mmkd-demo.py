# configs/dml/dml_retinanet-r18-narrow_...: the mutual term at a quarter of the weight and without
# softening (T=1): a peer's positive scores are as under-confident as the member's own early on,
# and at weight 2, T=2 they held both members' classification back (configs/dml/README.md).
_base_ = ['./dml_retinanet-r18-narrow_retinanet-r18-narrow_12e_mmkd-demo.py']

model = dict(kd_terms=dict(cls_pos=dict(loss=dict(temperature=1.0, loss_weight=0.5))))
