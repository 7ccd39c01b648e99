# Teacher-bounded regression alone on the demo RetinaNet: on the positives of the student's
# assigner, the squared error of the student's deltas counts only where it is not below the
# teacher's (margin 0), weight nu = 0.5. Settings and measured results:
# configs/bounded_reg/README.md.
_base_ = ['../_base_/distill_retinanet_mmkd-demo-student.py']

model = dict(
    kd_terms=dict(
        bound=dict(
            loss=dict(type='mmkd.TeacherBoundedRegressionLoss', margin=0.0, loss_weight=0.5),
            inputs=['s_pos_reg', 't_pos_reg', 'pos_reg_targets', 'pos_reg_weights',
                    'num_pos'])))
