# Deep mutual learning (Zhang et al., CVPR 2018) on the detection benchmark pair's student: two
# narrow RetinaNet students of retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py (200 images,
# 48 epochs) trained together from scratch, no teacher, with the terms of the 12-epoch demo
# config (per-class binary KL, T=2, weight 2, to the other's classification logits on the
# anchors its own assigner marks positive, the other's prediction detached). Each student has
# its own AdamW, clipping and schedule. kd_benchmark reports the mean of the two students' bbox
# mAP (each is a student a user could deploy); its minutes are the pair's. configs/dml/README.md.
_base_ = ['../demo/retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py']

model = dict(
    _delete_=True,
    type='mmkd.MutualLearningDistiller',
    students=dict(student1={{_base_.model}}, student2={{_base_.model}}),
    kd_terms=dict(
        cls_pos=dict(
            loss=dict(type='mmkd.LogitKDLoss', temperature=2.0, num_anchors=9, loss_weight=2.0),
            inputs=['s_cls_scores', 't_cls_scores', 'pos_mask', 'num_pos'])))
optim_wrapper = dict(
    _delete_=True,
    constructor='mmkd.MultiOptimWrapperConstructor',
    student1={{_base_.optim_wrapper}},
    student2={{_base_.optim_wrapper}})
val_cfg = dict(type='mmkd.MutualValLoop')
test_cfg = dict(type='mmkd.MutualTestLoop')
