# Relational KD (Park et al., CVPR 2019) on the segmentation benchmark pair (the w8 student on 50
# images, the w16 teacher on 400), with the GT class regions of the batch as the instances: the
# decode heads' last features averaged over each (image, class) region; the student keeps the
# distances (weight 25) and angles (weight 50) among the teacher's region embeddings, weight 0.1
# as on the earlier pair (rkd_pspnet-r18-w16_pspnet-r18-w32_1.5k_mmkd-demo.py).
# Results: configs/rkd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo-student.py']

model = dict(
    kd_terms=dict(
        rkd=dict(loss=dict(type='mmkd.RelationalKDLoss', distance_weight=25.0,
                           angle_weight=50.0, loss_weight=0.1),
                 inputs=['s_region_feats', 't_region_feats'])))
