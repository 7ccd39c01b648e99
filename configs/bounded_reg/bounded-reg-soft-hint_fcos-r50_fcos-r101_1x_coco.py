# Chen et al.'s terms on an anchor-free detector: FCOS R101 teacher, R50 student, 1x. The bound
# on the positives' distances (in stride units), class-weighted soft labels on every point
# (sigmoid form, background weight on the negative part), a hint on the FPN levels.
# The teacher's weights: mmdet's model zoo checkpoint of fcos_r101-caffe_fpn_gn-head-1x_coco.
_base_ = ['mmdet::fcos/fcos_r50-caffe_fpn_gn-head_1x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::fcos/fcos_r101-caffe_fpn_gn-head-1x_coco.py',
        checkpoint='checkpoints/fcos_r101_caffe_fpn_gn-head_1x_coco-0e37b982.pth'),
    kd_terms=dict(
        bound=dict(
            loss=dict(type='mmkd.TeacherBoundedRegressionLoss', margin=0.0, loss_weight=0.5),
            inputs=['s_pos_reg', 't_pos_reg', 'pos_reg_targets', 'pos_reg_weights', 'num_pos']),
        soft=dict(
            loss=dict(type='mmkd.WeightedSoftLabelKDLoss', use_sigmoid=True,
                      background_weight=1.5, loss_weight=0.5),
            inputs=['s_cls_rows', 't_cls_rows', 'cls_row_weights', 'cls_avg_factor']),
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
