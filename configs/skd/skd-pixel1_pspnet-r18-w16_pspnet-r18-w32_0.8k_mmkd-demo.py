# SKD, all three terms on the demo, with the pixel-wise weight at 1 instead of the paper's 10.
# The demo segmentors weight their cross-entropy by class (background 0.1: it is 92% of the
# pixels); the pixel-wise KL is unweighted, and at 10 it outweighs the task loss by 2-4x and
# brings the background's dominance back. Results: configs/skd/README.md.
_base_ = ['./skd_pspnet-r18-w16_pspnet-r18-w32_0.8k_mmkd-demo.py']

model = dict(kd_terms=dict(pixel=dict(loss=dict(loss_weight=1.0))))
