# FGD, the reference code's RetinaNet setting (yzd-v/FGD, fgd_retina_rx101_64x4d_distill_
# retina_r50_fpn_2x_coco): RetinaNet ResNeXt-101 (64x4d) 1x teacher, RetinaNet R50 student, 2x
# schedule, the five FPN levels P3-P7, the reference cell rule (cells='reference', FGDLoss's
# default) and the inheriting strategy: the student's neck and head start from the teacher's
# weights (model.inherit). Reference README: 37.4 -> 40.7 bbox mAP.
# The teacher's weights: mmdet's model zoo checkpoint of retinanet_x101-64x4d_fpn_1x_coco.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_2x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py',
        checkpoint='checkpoints/retinanet_x101_64x4d_fpn_1x_coco_20200130-366f5af1.pth'),
    inherit=['neck', 'bbox_head'],
    kd_terms=dict(
        fgd=dict(
            loss=dict(type='mmkd.FGDLoss', student_channels=256, teacher_channels=256,
                      temperature=0.5, alpha_fgd=1e-3, beta_fgd=5e-4, gamma_fgd=5e-4,
                      lambda_fgd=5e-6),
            inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape'])))

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
