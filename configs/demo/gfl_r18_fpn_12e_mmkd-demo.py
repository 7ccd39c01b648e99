# Demo GFL teacher (for bin-classified bbox KD): the demo RetinaNet teacher's ResNet-18 and
# 128-channel FPN with a GFL head (ATSS assignment, QFL + DFL + GIoU, reg_max 16), one anchor of
# 4 x stride per location (32 px on P3, 64 px on P4 for the 26-53 px digits). From scratch.
_base_ = ['./retinanet_r18_fpn_12e_mmkd-demo.py']

model = dict(
    type='GFL',
    bbox_head=dict(
        _delete_=True,
        type='GFLHead',
        num_classes=10,
        in_channels=128,
        stacked_convs=2,
        feat_channels=128,
        reg_max=16,
        anchor_generator=dict(
            type='AnchorGenerator', ratios=[1.0], octave_base_scale=4, scales_per_octave=1,
            strides=[8, 16, 32, 64, 128]),
        loss_cls=dict(type='QualityFocalLoss', use_sigmoid=True, beta=2.0, loss_weight=1.0),
        loss_dfl=dict(type='DistributionFocalLoss', loss_weight=0.25),
        loss_bbox=dict(type='GIoULoss', loss_weight=2.0)),
    train_cfg=dict(
        _delete_=True,
        assigner=dict(type='ATSSAssigner', topk=9),
        allowed_border=-1,
        pos_weight=-1,
        debug=False))
