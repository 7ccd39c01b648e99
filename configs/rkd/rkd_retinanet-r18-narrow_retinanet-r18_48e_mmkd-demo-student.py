# Relational KD (Park et al., CVPR 2019) on the demo pair, with the objects of a batch as the
# instances: the student's and the teacher's FPN features RoIAligned at the GT boxes
# (s_box_feats / t_box_feats, one 1x1 vector per box) on P3 and P4; the student keeps the
# distances (weight 25) and angles (weight 50) among the teacher's. loss_weight 0.02 puts the
# term's gradient at about 2.5x the task loss's over the first iterations (KDLossScaleHook).
# Results: configs/rkd/README.md.
_base_ = ['../_base_/distill_retinanet_mmkd-demo-student.py']

model = dict(
    kd_terms=dict(
        rkd=dict(loss=dict(type='mmkd.RelationalKDLoss', distance_weight=25.0,
                           angle_weight=50.0, loss_weight=0.02),
                 inputs=['s_box_feats', 't_box_feats'], levels=[0, 1])))
