# LD, the full method, on the GFL benchmark pair: the main region of
# ld_gfl-r18-narrow_gfl-r18_48e_mmkd-demo-student.py + the valuable localization region +
# classification KD on the positives (configs/_base_/ld_full_terms_mmkd-demo.py), the terms of
# the 12-epoch ld-full config. Results: configs/ld/README.md.
_base_ = ['./ld_gfl-r18-narrow_gfl-r18_48e_mmkd-demo-student.py',
          '../_base_/ld_full_terms_mmkd-demo.py']

model = dict(vlr_alpha=0.25, vlr_mode='score', kd_terms={{_base_.ld_full_terms}})
