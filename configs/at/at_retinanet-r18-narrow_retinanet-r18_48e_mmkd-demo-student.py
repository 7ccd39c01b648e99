# Attention transfer (Zagoruyko & Komodakis, ICLR 2017) on the demo pair: the student's spatial
# attention maps (sum over channels of F^2, L2-normalised) imitate the teacher's on the FPN levels
# P3 and P4, where the demo's digits are assigned. The channels differ (32 / 128): the sum over
# channels removes them, no adapter. loss_weight 0.25 puts the term's gradient at about twice the
# task loss's over the first iterations (KDLossScaleHook). Results: configs/at/README.md.
_base_ = ['../_base_/distill_retinanet_mmkd-demo-student.py']

model = dict(
    kd_terms=dict(
        at=dict(loss=dict(type='mmkd.AttentionTransferLoss', loss_weight=0.25),
                inputs=['s_neck', 't_neck'], levels=[0, 1])))
