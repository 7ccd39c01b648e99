# SKD's pixel-wise term alone on the demo: KL between the teacher's and the student's class
# distributions at every labelled pixel of the 1/8 logits, weight 10 (the paper's).
# The mean over the labelled pixels (normalize='pixels'), as in the measured runs; the Cityscapes
# config takes the reference code's sum over the batch / (h w). Settings and measured results:
# configs/skd/README.md.
_base_ = ['../_base_/distill_pspnet_mmkd-demo.py']

model = dict(
    kd_terms=dict(
        pixel=dict(loss=dict(type='mmkd.PixelWiseKDLoss', temperature=1.0, loss_weight=10.0,
                             normalize='pixels'),
                   inputs=['s_logits', 't_logits', 'valid_mask'])))
