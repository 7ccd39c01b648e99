# DeFeat (decoupled foreground / background feature imitation) on all five FPN levels of the
# demo RetinaNet, the paper's weights w_fg=3, w_bg=12 and a 3x3 adaptation conv per level.
# This demo run marks every box on every level (assign='all'); the COCO config uses the reference
# code's one level per box. loss_weight brings the term to about 10 at the start (the demo
# teacher's P6 / P7 features are large): 0.0192 = 3e-5 x 128 channels x 5 levels, the weight of
# the runs in configs/defeat/README.md before the loss took the reference code's 2 C N divisors
# and mean over levels. The adaptation conv keeps PyTorch's initialisation here (the COCO config
# uses the paper's N(0, 1e-4^2)).
_base_ = ['../_base_/distill_retinanet_mmkd-demo-student.py']

model = dict(
    kd_terms=dict(
        defeat=dict(
            loss=dict(type='mmkd.DecoupledFeatureLoss', fg_weight=3.0, bg_weight=12.0,
                      assign='all', loss_weight=0.0192),
            inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape'],
            adapter=dict(type='mmkd.ConvAdapter', kernel_size=3, always=True))))
