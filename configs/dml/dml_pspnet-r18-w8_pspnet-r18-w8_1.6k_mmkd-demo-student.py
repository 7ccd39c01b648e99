# Deep mutual learning on the segmentation benchmark pair's student: two w8 PSPNet students of
# pspnet_r18-w8-d8_1.6k_mmkd-demo-student.py (50 images, 1600 iterations) trained together from
# scratch, no teacher. Each adds the pixel-wise KL (T=1, weight 1, the paper's) from the other's
# class distribution at every labelled pixel, the other's logits detached, a mean over the
# labelled pixels (normalize='pixels'). One SGD optimizer for both (SGD without clipping treats
# each parameter alone, so this equals one optimizer each). kd_benchmark reports the mean of the
# two students' mIoU; its minutes are the pair's. configs/dml/README.md.
_base_ = ['../demo/pspnet_r18-w8-d8_1.6k_mmkd-demo-student.py']

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
