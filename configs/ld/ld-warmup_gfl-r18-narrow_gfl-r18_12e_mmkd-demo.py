# LD, main region, with its weight warmed up from 0 over the first two epochs (100 iterations):
# at the start the term is about 2.6 against the student's 0.004 classification loss, before the
# student's class scores (its weights) mean anything. Results: configs/ld/README.md.
_base_ = ['./ld_gfl-r18-narrow_gfl-r18_12e_mmkd-demo.py']

custom_hooks = [dict(type='mmkd.KDWeightScheduleHook', schedules=dict(ld=dict(warmup=100)))]
