# A demo segmentation teacher of another architecture: SegFormer (mmseg's MixVisionTransformer
# and SegformerHead) at a fraction of MiT-B0's size (embedding channels 16-128 instead of 32-256,
# one block per stage, a 64-channel head), from scratch, 3000 iterations of 8 images on all 400
# train images with MiT's AdamW and poly schedule (the head at 10x the learning rate, as mmseg's
# SegFormer configs): 54.63 mIoU on the demo val set, 11.2 min on 2 CPU cores (2026-12-08; the
# demo PSPNet teacher gets 76.49 on the same schedule). Its stages have strides 4, 8, 16, 32
# and its logits are at 1/4 of the input, where the dilated ResNet students' stages are at 4,
# 8, 8, 8 and their logits at 1/8: logit and decode-feature terms see its maps resized to the
# student's (the vocabulary's ``resized`` names), backbone terms pair the stages with
# ``teacher_levels`` (docs/design.md, "A segmentation teacher of another output stride"). No
# auxiliary head. Train it with
#   python tools/train.py configs/demo/segformer_mit-tiny_3k_mmkd-demo.py \
#       --work-dir work_dirs/demo/segformer_teacher
_base_ = ['./pspnet_r18-w32-d8_1.5k_mmkd-demo.py']  # data, preprocessing, the class weights

model = dict(
    backbone=dict(
        _delete_=True,
        type='MixVisionTransformer',
        in_channels=3,
        embed_dims=16,
        num_stages=4,
        num_layers=[1, 1, 1, 1],
        num_heads=[1, 2, 5, 8],
        patch_sizes=[7, 3, 3, 3],
        sr_ratios=[8, 4, 2, 1],
        out_indices=(0, 1, 2, 3),
        mlp_ratio=4,
        qkv_bias=True,
        drop_rate=0.0,
        attn_drop_rate=0.0,
        drop_path_rate=0.1,
        init_cfg=None),
    decode_head=dict(
        _delete_=True,
        type='SegformerHead',
        in_channels=[16, 32, 80, 128],
        in_index=[0, 1, 2, 3],
        channels=64,
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg={{_base_.norm_cfg}},
        align_corners=False,
        loss_decode={{_base_.model.decode_head.loss_decode}}),
    auxiliary_head=None)

max_iters = 3000
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=6e-4, betas=(0.9, 0.999), weight_decay=0.01),
    paramwise_cfg=dict(custom_keys={'pos_block': dict(decay_mult=0.),
                                    'norm': dict(decay_mult=0.),
                                    'head': dict(lr_mult=10.)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1e-3, by_epoch=False, begin=0, end=150),
    dict(type='PolyLR', eta_min=0.0, power=1.0, begin=150, end=max_iters, by_epoch=False),
]
default_hooks = dict(checkpoint=dict(interval=max_iters))
