# SKD's holistic term alone on the demo: WGAN-GP between the student's and the teacher's score
# maps, the discriminator trained beside the student with its own optimizer (adv_weight 0.1,
# gp_weight 10, D lr 4e-4: the paper's). Settings and measured results: configs/skd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo.py']

model = dict(
    discriminator=dict(type='mmkd.SegDiscriminator', base_channels=64, num_layers=4,
                       self_attention=True),
    disc_steps=1,
    kd_terms=dict(
        holistic=dict(loss=dict(type='mmkd.HolisticAdversarialLoss', adv_weight=0.1,
                                gp_weight=10.0),
                      inputs=['s_logits', 't_logits', 'img'])))
optim_wrapper = dict(
    _delete_=True,
    constructor='mmkd.MultiOptimWrapperConstructor',
    student={{_base_.optim_wrapper}},
    discriminator=dict(type='OptimWrapper',
                       optimizer=dict(type='Adam', lr=4e-4, betas=(0.9, 0.99))))
param_scheduler = dict(_delete_=True, student={{_base_.param_scheduler}}, discriminator=[])
