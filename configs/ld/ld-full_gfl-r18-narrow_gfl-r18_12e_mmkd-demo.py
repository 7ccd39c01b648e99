# LD, the full method on the demo GFL pair: the main region of ld_gfl-r18-narrow_gfl-r18_12e_...
# + the valuable localization region + classification KD on the positives, with mmkd's
# normalisation of the measured runs (configs/_base_/ld_full_terms_mmkd-demo.py). Results:
# configs/ld/README.md.
_base_ = ['./ld_gfl-r18-narrow_gfl-r18_12e_mmkd-demo.py', '../_base_/ld_full_terms_mmkd-demo.py']

model = dict(vlr_alpha=0.25, vlr_mode='score', kd_terms={{_base_.ld_full_terms}})
