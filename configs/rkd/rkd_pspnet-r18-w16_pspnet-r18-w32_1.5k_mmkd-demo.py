# Relational KD (Park et al., CVPR 2019) on the demo PSPNet pair, with the GT class regions of
# the batch as the instances: the decode heads' last features averaged over each (image, class)
# region (s_region_feats / t_region_feats); the student keeps the distances (weight 25) and
# angles (weight 50) among the teacher's region embeddings. 1500-iteration student schedule
# (configs/demo/pspnet_r18-w16-d8_1.5k_mmkd-demo.py). loss_weight 0.1 puts the gradient at about
# 1.8x the task loss's over the first iterations (KDLossScaleHook). Results: configs/rkd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo.py']

model = dict(
    kd_terms=dict(
        rkd=dict(loss=dict(type='mmkd.RelationalKDLoss', distance_weight=25.0,
                           angle_weight=50.0, loss_weight=0.1),
                 inputs=['s_region_feats', 't_region_feats'])))
max_iters = 1500
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=50, end=max_iters, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
