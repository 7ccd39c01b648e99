# SKD's three terms with the paper's weights, and the holistic term's discriminator and its
# optimizer, shared by the demo SKD configs of both PSPNet pairs (configs/skd/README.md; the
# skd_adversarial_pspnet_* bases put the discriminator and its optimizer in place):
# - skd_pixel: KL between the teacher's and the student's class distributions at every labelled
#   pixel of the 1/8 logits, weight 10, the mean over the labelled pixels (normalize='pixels';
#   the Cityscapes configs take the reference code's sum over the batch / (h w));
# - skd_pair: cosine affinities between max-pooled nodes (pool scale 0.5) of the decode head's
#   last feature map, weight 1;
# - skd_holistic: WGAN-GP between the student's and the teacher's score maps (adv_weight 0.1,
#   gp_weight 10), with skd_discriminator trained beside the student by skd_disc_optim
#   (Adam, lr 4e-4).
skd_pixel = dict(loss=dict(type='mmkd.PixelWiseKDLoss', temperature=1.0, loss_weight=10.0,
                           normalize='pixels'),
                 inputs=['s_logits', 't_logits', 'valid_mask'])
skd_pair = dict(loss=dict(type='mmkd.PairWiseKDLoss', pool_scale=0.5, loss_weight=1.0),
                inputs=['s_decode_feat', 't_decode_feat'])
skd_holistic = dict(loss=dict(type='mmkd.HolisticAdversarialLoss', adv_weight=0.1,
                              gp_weight=10.0),
                    inputs=['s_logits', 't_logits', 'img'])
skd_discriminator = dict(type='mmkd.SegDiscriminator', base_channels=64, num_layers=4,
                         self_attention=True)
skd_disc_optim = dict(type='OptimWrapper', optimizer=dict(type='Adam', lr=4e-4, betas=(0.9, 0.99)))
