# configs/sp/sp_...: the same term at a tenth of the weight (gradient about 0.23x the task
# loss's over the first iterations). Results: configs/sp/README.md.
_base_ = ['./sp_retinanet-r18-narrow_retinanet-r18_48e_mmkd-demo-student.py']

model = dict(kd_terms=dict(sp=dict(loss=dict(loss_weight=0.5))))
