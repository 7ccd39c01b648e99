# CWD on the FPN, MMRazor 1.0's detection setting (configs/distill/mmdet/cwd/
# cwd_fpn_retina_r101_retina_r50_1x_coco.py, FpnTeacherDistill): RetinaNet R101 2x teacher,
# RetinaNet R50 student, 1x schedule (SGD lr 0.01), CWD on each of the five FPN levels P3-P7 at
# temperature 1 and weight 10, the levels summed. The loss is MMRazor's ChannelWiseDivergence
# (loss_weight * tau^2 * sum of the KL over the N x C rows / (N C)), as ChannelWiseDivergenceLoss.
# MMRazor publishes no result of this config (its metafile has the GFL head setting only); it is
# here as the peer of `tools/analysis/benchmark.py --anchor mmrazor-cwd` (docs/benchmarks.md).
# The teacher's weights: mmdet's model zoo checkpoint of retinanet_r101_fpn_2x_coco.
_base_ = ['mmdet::retinanet/retinanet_r50_fpn_1x_coco.py']

model = dict(
    _delete_=True,
    type='mmkd.DetectionDistiller',
    student={{_base_.model}},
    teacher=dict(
        config='mmdet::retinanet/retinanet_r101_fpn_2x_coco.py',
        checkpoint='checkpoints/retinanet_r101_fpn_2x_coco_20200131-5560aee8.pth'),
    kd_terms=dict(
        cwd_fpn=dict(
            loss=dict(type='mmkd.ChannelWiseDivergenceLoss', temperature=1.0, loss_weight=10.0),
            inputs=['s_neck', 't_neck'])))

optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001))

# What runs, whichever tool starts this config (ours, mmdet's / mmseg's tools/train.py, mim):
# checkpoints for exact resumes and mmkd's DDP step (docs/distributed.md).
default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook'))
model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel')
custom_imports = dict(imports=['mmkd'], allow_failed_imports=False)
