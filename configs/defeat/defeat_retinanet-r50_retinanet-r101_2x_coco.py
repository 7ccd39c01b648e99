# DeFeat's feature part on RetinaNet: R101 teacher, R50 student, 2x schedule, all five FPN levels,
# normalised as the reference code (ggjy/DeFeat.pytorch, batch_processor_kd): per level
# sum M (phi(S) - T)^2 / max(1, 2 C N_fg) and the background alike, averaged over the levels, each
# GT box on one level (assign='level'); a 3x3 adaptation conv per level from N(0, 1e-4^2).
# The reference repository ships only a VOC Faster R-CNN config; w_fg = 3, w_bg = 12 are its.
# The paper's COCO RetinaNet R50 result (with its head KD, not in this config): 36.5 -> 39.7.
# The teacher's weights: mmdet's model zoo checkpoint of retinanet_r101_fpn_2x_coco.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::retinanet/retinanet_r101_fpn_2x_coco.py',
        checkpoint='checkpoints/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth'),
    kd_terms=dict(
        defeat=dict(
            loss=dict(type='mmkd.DecoupledFeatureLoss', fg_weight=3.0, bg_weight=12.0,
                      assign='level'),
            inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape'],
            adapter=dict(type='mmkd.ConvAdapter', kernel_size=3, always=True, init_std=1e-4))))

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
