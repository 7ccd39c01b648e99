# SKD's pair-wise term alone on the demo: the cosine affinities between max-pooled nodes (pool
# scale 0.5) of the decode head's last feature map, weight 1 (the paper's).
# Settings and measured results: configs/skd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo.py']

model = dict(
    kd_terms=dict(
        pair=dict(loss=dict(type='mmkd.PairWiseKDLoss', pool_scale=0.5, loss_weight=1.0),
                  inputs=['s_decode_feat', 't_decode_feat'])))
