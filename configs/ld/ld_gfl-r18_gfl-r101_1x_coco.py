# LD, the paper's main setting: GFL R101 teacher, GFL R18 student, 1x; LD (T = 10, weight 0.25)
# on the student's positives, weighted by its largest class score, normalised as the reference
# code (HikariTJU/LD, mmdet's LDHead): the KL averaged over the 17 bins, a fixed divisor of 4 (the
# edges), not divided by the sum of the weights. Paper: 35.8 -> 36.5 bbox mAP.
# The teacher's weights: mmdet's model zoo checkpoint of gfl_r101_fpn_ms-2x_coco.
_base_ = ['../models/gfl_r18_fpn_1x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::gfl/gfl_r101_fpn_ms-2x_coco.py',
        checkpoint='checkpoints/gfl_r101_fpn_mstrain_2x_coco_20200629_200126-dd12f847.pth'),
    kd_terms=dict(
        ld=dict(
            loss=dict(type='mmkd.LocalizationDistillationLoss', temperature=10.0,
                      loss_weight=0.25, bin_reduction='mean', avg_factor=4.0),
            inputs=['s_pos_bins', 't_pos_bins', 'pos_bin_weights'])))

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
