# PKD on the demo pair: each of the FPN levels P3-P6 of the narrow student (32 channels, a 1x1
# adapter per level lifts them to the teacher's 128) and of the demo teacher is standardised per
# channel, and half the mean squared difference is the loss, weight 10 per level as in the
# reference RetinaNet config. The standardisation removes the features' scale, so the paper's
# weight means here what it means on COCO. Settings and measured results: configs/pkd/README.md.
_base_ = ['../_base_/distill_retinanet_mmkd-demo-student.py']

model = dict(
    kd_terms=dict(
        pkd=dict(loss=dict(type='mmkd.PKDLoss', loss_weight=10.0),
                 inputs=['s_neck', 't_neck'], levels=[0, 1, 2, 3])))
