# The born-again generation of ban-hint-poskd_..._48e_mmkd-demo-student.py with the hint alone
# (FitNet MSE on P3, P4, weight 3, warmed up over 50 iterations). configs/born_again/README.md.
_base_ = ['./ban-hint-poskd_retinanet-r18-narrow_retinanet-r18-narrow_48e_mmkd-demo-student.py']

model = dict(kd_terms=dict(_delete_=True, hint={{_base_.hint_poskd_terms.hint}}))
