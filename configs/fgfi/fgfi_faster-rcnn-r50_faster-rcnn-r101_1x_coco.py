# FGFI on Faster R-CNN: R101 teacher, R50 student, 1x schedule; the imitation mask comes from the
# student's RPN anchors on all five FPN levels (psi = 0.5), a 3x3 adaptation conv per level
# initialised from N(0, 1e-4^2) and followed by a ReLU, as the reference code's adaptation layer.
# The teacher's weights: mmdet's model zoo checkpoint of faster-rcnn_r101_fpn_1x_coco.
_base_ = ['mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::faster_rcnn/faster-rcnn_r101_fpn_1x_coco.py',
        checkpoint='checkpoints/faster_rcnn_r101_fpn_1x_coco_20200130-f513f705.pth'),
    kd_terms=dict(
        fgfi=dict(
            loss=dict(type='mmkd.FineGrainedImitationLoss', thr_ratio=0.5, loss_weight=0.01),
            inputs=['s_neck', 't_neck', 'priors', 'gt_bboxes'],
            adapter=dict(type='mmkd.ConvAdapter', kernel_size=3, always=True, init_std=1e-4,
                         relu=True))))

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
