# configs/rkd/rkd_...: the same term at a tenth of the weight (gradient about 0.25x the task
# loss's over the first iterations). Results: configs/rkd/README.md.
_base_ = ['./rkd_retinanet-r18-narrow_retinanet-r18_48e_mmkd-demo-student.py']

model = dict(kd_terms=dict(rkd=dict(loss=dict(loss_weight=0.002))))
