# SKD on Cityscapes, the paper's setting (Liu et al., CVPR 2019, Tab. 1): PSPNet R101 -> PSPNet R18,
# 512 x 512 crops, 40k iterations of 8 images on ONE GPU as the reference run, SGD lr 1e-2 for
# the student and SGD lr 4e-4 for the discriminator (momentum 0.9, weight decay 5e-4, both with
# the poly decay, as the reference run). The terms are normalised as the
# reference code (irfanICMLL/structure_knowledge_distillation):
# - pixel-wise, weight 10: the KL summed over the batch and divided by h * w of the logits only
#   (normalize='image'), so it scales with the images per GPU: keep 8 per GPU (on G GPUs that is
#   8 G images an iteration) or scale the weight by 8 / (images per GPU);
# - pair-wise, weight 0.5 (the reference run script), pool scale 0.5, on the decode head's
#   feature after its dropout, as the reference code takes it;
# - holistic: WGAN-GP with the reference critic (mmkd.SKDReferenceDiscriminator: BatchNorm-ed
#   raw logits, no image), student weight 0.1, the critic's loss x 0.1 with penalty 10; its
#   penalty runs the BatchNorm on running statistics (mmkd's fix, docs/skd.md). The
#   image-conditioned mmkd critic: skd-condD_...cityscapes.py.
# Paper: 69.10 -> 74.08 mIoU (val). Settings and demo results: configs/skd/README.md.
_base_ = ['../_base_/distill_pspnet-r18_pspnet-r101_512x512_40k_cityscapes.py']

model = dict(
    discriminator=dict(type='mmkd.SKDReferenceDiscriminator', base_channels=64),
    disc_steps=1,
    kd_terms=dict(
        pixel=dict(loss=dict(type='mmkd.PixelWiseKDLoss', temperature=1.0, loss_weight=10.0,
                             normalize='image'),
                   inputs=['s_logits', 't_logits', 'valid_mask']),
        pair=dict(loss=dict(type='mmkd.PairWiseKDLoss', pool_scale=0.5, loss_weight=0.5),
                  inputs=['s_dropout_feat', 't_dropout_feat']),
        holistic=dict(loss=dict(type='mmkd.HolisticAdversarialLoss', adv_weight=0.1,
                                gp_weight=10.0, maps='logits', disc_weight=0.1),
                      inputs=['s_logits', 't_logits'])))
train_dataloader = dict(batch_size=8)
max_iters = 40000
optim_wrapper = dict(
    _delete_=True,
    constructor='mmkd.MultiOptimWrapperConstructor',
    student=dict(type='OptimWrapper',
                 optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=5e-4),
                 clip_grad=None),
    discriminator=dict(type='OptimWrapper',
                       optimizer=dict(type='SGD', lr=4e-4, momentum=0.9, weight_decay=5e-4)))
param_scheduler = dict(
    _delete_=True,
    student=[dict(type='PolyLR', eta_min=1e-4, power=0.9, begin=0, end=max_iters,
                  by_epoch=False)],
    discriminator=[dict(type='PolyLR', eta_min=0.0, power=0.9, begin=0, end=max_iters,
                        by_epoch=False)])
