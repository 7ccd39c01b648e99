# Deep mutual learning (Zhang et al., CVPR 2018) on the demo segmentation data: two w16 PSPNet
# students trained together from scratch for 1500 iterations, no teacher. Each adds to its own
# losses the pixel-wise KL (T=1, weight 1, the paper's) from the other's class distribution at
# every labelled pixel, the other's logits detached. One SGD optimizer for both (SGD without
# clipping treats each parameter alone, so this equals one optimizer each).
# The KL is a mean over the labelled pixels (normalize='pixels'). Results: configs/dml/README.md.
_base_ = ['../demo/pspnet_r18-w16-d8_1.5k_mmkd-demo.py']

model = dict(
    _delete_=True,
    type='mmkd.MutualLearningDistiller',
    students=dict(student1={{_base_.model}}, student2={{_base_.model}}),
    kd_terms=dict(
        pixel=dict(loss=dict(type='mmkd.PixelWiseKDLoss', temperature=1.0, loss_weight=1.0,
                             normalize='pixels'),
                   inputs=['s_logits', 't_logits', 'valid_mask'])))
val_cfg = dict(type='mmkd.MutualValLoop')
test_cfg = dict(type='mmkd.MutualTestLoop')
