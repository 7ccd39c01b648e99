# The logit KD term of CIRKD's codebase, which CIRKD and Af-DCD train with (train_cirkd.py,
# train_ocmgd.py: lambda_kd 1, T 1): each pixel's class distribution of the logits before
# upsampling, teacher to student, the mean over every pixel of the batch (ignored pixels too).
logit_kd = dict(loss=dict(type='mmkd.PixelWiseKDLoss', temperature=1.0, loss_weight=1.0,
                          normalize='pixels'),
                inputs=['s_logits', 't_logits'])
