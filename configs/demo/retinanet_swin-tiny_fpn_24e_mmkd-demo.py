# A demo teacher of another architecture: the demo teacher's RetinaNet (FPN and head of 128
# channels, 24 epochs on all 400 train images) on a small Swin Transformer (mmdet's
# SwinTransformer: 32 embedding channels, depths 1-1-2-1, windows of 5 positions, from scratch)
# instead of the ResNet-18. Its stages 2-4 (64, 128, 256 channels at strides 8, 16, 32) feed the
# FPN, whose P3-P7 have the strides of the ResNet students' FPN, so the feature terms pair the
# levels by index. Not trained or measured here yet: the tests run it with random weights
# (tests/test_models/test_distillers/test_cross_architecture.py).
_base_ = ['./retinanet_r18_fpn_24e_mmkd-demo.py']

model = dict(
    backbone=dict(
        _delete_=True,
        type='SwinTransformer',
        pretrain_img_size=160,
        embed_dims=32,
        depths=(1, 1, 2, 1),
        num_heads=(1, 2, 4, 8),
        window_size=5,
        mlp_ratio=4,
        qkv_bias=True,
        drop_path_rate=0.1,
        patch_norm=True,
        out_indices=(1, 2, 3),
        init_cfg=None),
    neck=dict(in_channels=[64, 128, 256], start_level=0))
