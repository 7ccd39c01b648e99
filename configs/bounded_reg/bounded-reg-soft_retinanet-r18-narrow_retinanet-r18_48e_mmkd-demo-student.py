# Bounded regression + class-weighted soft labels (background weight 1.5 on the negative part of
# each class's binary distribution, T = 1) on every anchor the student's focal loss counts,
# divided like it by the number of positives. Results: configs/bounded_reg/README.md.
_base_ = ['./bounded-reg_retinanet-r18-narrow_retinanet-r18_48e_mmkd-demo-student.py']

model = dict(kd_terms=dict(
    soft=dict(
        loss=dict(type='mmkd.WeightedSoftLabelKDLoss', use_sigmoid=True, background_weight=1.5,
                  temperature=1.0, loss_weight=0.5),
        inputs=['s_cls_rows', 't_cls_rows', 'cls_row_weights', 'cls_avg_factor'])))
