# SKD, all three terms on the demo (the paper's weights): pixel-wise KD (10), pair-wise KD (1) and
# the holistic WGAN-GP term (0.1), the discriminator trained beside the student.
# The mean over the labelled pixels (normalize='pixels'), as in the measured runs; the Cityscapes
# config takes the reference code's sum over the batch / (h w). Settings and measured results:
# configs/skd/README.md.
_base_ = ['./skd-holistic_pspnet-r18-w32_pspnet-r18-w16_0.8k_mmkd-demo.py']

model = dict(
    kd_terms=dict(
        pixel=dict(loss=dict(type='mmkd.PixelWiseKDLoss', temperature=1.0, loss_weight=10.0,
                             normalize='pixels'),
                   inputs=['s_logits', 't_logits', 'valid_mask']),
        pair=dict(loss=dict(type='mmkd.PairWiseKDLoss', pool_scale=0.5, loss_weight=1.0),
                  inputs=['s_decode_feat', 't_decode_feat'])))
