# FGD (focal + attention + global) on all five FPN levels of the demo RetinaNet: the narrow
# student (32 FPN channels) imitates the demo teacher (128). One FGDLoss per level, each with its
# own 1x1 alignment and context blocks. The paper's RetinaNet weights; loss_weight 0.02 brings
# the term to about 10 at the start (the demo teacher's features are larger than a COCO FPN's).
# The demo runs mark only the cells a box overlaps (cells='covered'); the COCO configs use the
# reference code's rule. Settings and measured results: configs/fgd/README.md.
_base_ = ['../_base_/distill_retinanet_mmkd-demo-student.py']

model = dict(
    kd_terms=dict(
        fgd=dict(
            loss=dict(type='mmkd.FGDLoss', student_channels=32, teacher_channels=128,
                      temperature=0.5, alpha_fgd=1e-3, beta_fgd=5e-4, gamma_fgd=5e-4,
                      lambda_fgd=5e-6, cells='covered', loss_weight=0.02),
            inputs=['s_neck', 't_neck', 'gt_bboxes', 'batch_input_shape'])))
