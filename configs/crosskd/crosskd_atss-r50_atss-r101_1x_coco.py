# CrossKD, the reference ATSS setting (jbwang1997/CrossKD, configs/crosskd/crosskd_r50_atss_r101_
# fpn_1x_coco.py): ATSS R101 1x teacher, ATSS R50 student, 1x. The student's head features after
# 3 of its 4 convs per tower continue through the teacher's fourth conv and output layers
# (model.cross_layer=3). The cross-head predictions learn the teacher's, each divided by the
# positives of the student's assignment: quality-focal KD on the scores of every valid anchor
# (weight 1); 1 - GIoU of the boxes both decode at every anchor, weighted by the teacher's
# largest score (weight 1); and at the positives, the binary cross-entropy of the cross head's
# centerness against the teacher's centerness score (weight 1). Reference README: 39.4 -> 41.8
# bbox mAP. The teacher's weights: mmdet's model zoo checkpoint of atss_r101_fpn_1x_coco.
# docs/crosskd.md.
_base_ = ['../_base_/distill_atss-r50_atss-r101_1x_coco.py',
          '../_base_/crosskd_anchor_terms.py']

model = dict(
    cross_layer=3,
    kd_terms=dict(
        cross_cls={{_base_.crosskd_anchor_terms.cross_cls}},
        cross_reg={{_base_.crosskd_anchor_terms.cross_reg}},
        cross_centerness=dict(
            loss=dict(type='mmkd.QualityFocalKDLoss', beta=0.0, loss_weight=1.0),
            inputs=['s_cross_pos_centerness', 't_pos_centerness', None, 'cls_avg_factor'])))

# the reference's batch: 8 images per GPU, the learning rate scaled linearly from 0.01 at 16
# images (on 8 GPUs: 64 images at 0.04)
train_dataloader = dict(batch_size=8)
auto_scale_lr = dict(enable=True, base_batch_size=16)
