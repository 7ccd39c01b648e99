# CrossKD, the reference RetinaNet setting (jbwang1997/CrossKD, configs/crosskd/crosskd_r50_
# retinanet_r101_fpn_2x_coco.py): RetinaNet R101 2x teacher, RetinaNet R50 student, 2x. The
# student's head features after 3 of its 4 convs per tower continue through the teacher's
# fourth conv and output convs (model.cross_layer=3); quality-focal KD on the scores of every
# valid anchor (weight 1) and GIoU between the cross-head and the teacher's decoded boxes at
# every anchor, weighted by the teacher's largest score (weight 1), both divided by the number
# of positives. Reference README: 37.4 -> 39.7 bbox mAP. The teacher's weights: mmdet's model zoo
# checkpoint of retinanet_r101_fpn_2x_coco. docs/crosskd.md.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::retinanet/retinanet_r101_fpn_2x_coco.py',
        checkpoint='checkpoints/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth'),
    cross_layer=3,
    kd_terms=dict(
        cross_cls=dict(
            loss=dict(type='mmkd.QualityFocalKDLoss', beta=1.0, loss_weight=1.0),
            inputs=['s_cross_cls_rows', 't_cls_rows', 'cls_row_weights', 'cls_avg_factor']),
        cross_reg=dict(
            loss=dict(type='mmdet.GIoULoss', loss_weight=1.0),
            inputs=['s_cross_boxes', 't_boxes', 't_score_weights', 'cls_avg_factor'])))

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
