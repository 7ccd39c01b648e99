# Demo FCOS teacher (a teacher that regresses continuous distances, for LD's continuous-teacher
# variant): the demo RetinaNet teacher's ResNet-18 and 128-channel FPN with an FCOS head
# (norm_on_bbox, centre sampling, GIoU). From scratch.
_base_ = ['./retinanet_r18_fpn_12e_mmkd-demo.py']

model = dict(
    type='FCOS',
    bbox_head=dict(
        _delete_=True,
        type='FCOSHead',
        num_classes=10,
        in_channels=128,
        stacked_convs=2,
        feat_channels=128,
        strides=[8, 16, 32, 64, 128],
        norm_on_bbox=True,
        centerness_on_reg=True,
        center_sampling=True,
        conv_bias=True,
        loss_cls=dict(
            type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='GIoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=dict(_delete_=True),
    test_cfg=dict(nms_pre=1000, min_bbox_size=0, score_thr=0.01,
                  nms=dict(type='nms', iou_threshold=0.5), max_per_img=100))
