# Chen et al. (NeurIPS 2017), the full method on Faster R-CNN: R101 teacher, R50 student, 1x.
# RPN and RCNN: L_cls = mu L_hard + (1 - mu) L_soft (mu = 0.5, background weight 1.5, T = 1) and
# L_reg = smoothL1 + nu L_b (teacher-bounded, nu = 0.5, m = 0); plus a hint on the FPN levels
# (gamma = 0.5). The teacher's box head runs once per step, on the student's sampled RoIs.
# The teacher's weights: mmdet's model zoo checkpoint of faster-rcnn_r101_fpn_1x_coco.
_base_ = ['../models/faster-rcnn_r50_fpn_hard-0.5_1x_coco.py']  # the student, hard losses x mu

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py',
        checkpoint='checkpoints/faster_rcnn_r101_fpn_1x_coco_20200130-f513f705.pth'),
    kd_terms=dict(
        rpn_soft=dict(
            loss=dict(type='mmkd.WeightedSoftLabelKDLoss', use_sigmoid=True,
                      background_weight=1.5, loss_weight=0.5),
            inputs=['s_cls_rows', 't_cls_rows', 'cls_row_weights', 'cls_avg_factor']),
        rpn_bound=dict(
            loss=dict(type='mmkd.TeacherBoundedRegressionLoss', margin=0.0, loss_weight=0.5),
            inputs=['s_pos_reg', 't_pos_reg', 'pos_reg_targets', 'pos_reg_weights',
                    'cls_avg_factor']),
        rcnn_soft=dict(
            loss=dict(type='mmkd.WeightedSoftLabelKDLoss', background_weight=1.5,
                      loss_weight=0.5),
            inputs=['s_rcnn_cls', 't_rcnn_cls', 'rcnn_label_weights', 'rcnn_num_rois']),
        rcnn_bound=dict(
            loss=dict(type='mmkd.TeacherBoundedRegressionLoss', margin=0.0, loss_weight=0.5),
            inputs=['s_rcnn_pos_reg', 't_rcnn_pos_reg', 'rcnn_pos_reg_targets',
                    'rcnn_pos_reg_weights', 'rcnn_num_rois']),
        hint=dict(
            loss=dict(type='mmkd.FeatureImitationLoss', loss_weight=0.5),
            inputs=['s_neck', 't_neck'],
            # Chen et al.'s adaptation layer, kept where the channels already agree (256 -> 256)
            adapter=dict(type='mmkd.ConvAdapter', always=True))))

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
