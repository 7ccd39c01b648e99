# DeFeat's feature part on RetinaNet: R101 teacher, R50 student, 2x schedule, all five FPN levels,
# normalised as the reference code (ggjy/DeFeat.pytorch, batch_processor_kd): per level
# sum M (phi(S) - T)^2 / max(1, 2 C N_fg) and the background alike, averaged over the levels, each
# GT box on one level (assign='level'); a 3x3 adaptation conv per level from N(0, 1e-4^2).
# The reference repository ships only a VOC Faster R-CNN config; w_fg = 3, w_bg = 12 are its.
# The paper's COCO RetinaNet R50 result (with its head KD, not in this config): 36.5 -> 39.7.
# The teacher's weights: mmdet's model zoo checkpoint of retinanet_r101_fpn_2x_coco.
_base_ = ['../_base_/distill_retinanet-r50_retinanet-r101_2x_coco.py']

model = dict(
    kd_terms=dict(
        defeat=dict(
            loss=dict(type='mmkd.DecoupledFeatureLoss', fg_weight=3.0, bg_weight=12.0,
                      assign='level'),
            inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape'],
            adapter=dict(type='mmkd.ConvAdapter', kernel_size=3, always=True, init_std=1e-4))))
