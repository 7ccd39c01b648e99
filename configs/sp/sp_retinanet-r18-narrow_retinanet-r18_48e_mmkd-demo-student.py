# Similarity-preserving KD (Tung & Mori, ICCV 2019) on the demo pair, with the objects of a batch
# as the rows: the row-normalised Gram matrix of the FPN features RoIAligned at the GT boxes
# (s_box_feats / t_box_feats) on P3 and P4. gamma (loss_weight) 5 instead of the paper's 3000
# (CIFAR, images as rows) puts the term's gradient at about 2.3x the task loss's over the first
# iterations (KDLossScaleHook). Results: configs/sp/README.md.
_base_ = ['../_base_/distill_retinanet_mmkd-demo-student.py']

model = dict(
    kd_terms=dict(
        sp=dict(loss=dict(type='mmkd.SimilarityPreservingLoss', loss_weight=5.0),
                inputs=['s_box_feats', 't_box_feats'], levels=[0, 1])))
