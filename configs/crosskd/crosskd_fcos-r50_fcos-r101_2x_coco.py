# CrossKD, the reference FCOS setting (jbwang1997/CrossKD, configs/crosskd/crosskd_r50_fcos_r101-
# 2x-ms_caffe_fpn_gn-head_2x_ms_coco.py): FCOS R101 (caffe, GN head) ms 2x teacher, FCOS R50
# student, ms 2x. The student's head features after 2 of its 4 convs per tower continue through
# the teacher's last two convs and output layers (model.cross_layer=2, the reference's FCOS
# choice; 3 elsewhere). Both terms run on every point of every level and are divided by the sum
# of the positives' centerness targets (FCOS's own box-loss divisor): quality-focal KD on the
# scores (weight 0.4), and -ln IoU of the boxes both decode (mmdet's IoULoss) weighted by the
# teacher's largest score (weight 0.75). No centerness term. Reference README: 38.5 -> 41.1
# bbox mAP. The teacher's weights: mmdet's model zoo checkpoint of
# fcos_r101-caffe_fpn_gn-head_ms-640-800-2x_coco. docs/crosskd.md.
_base_ = ['../_base_/distill_fcos-r50_fcos-r101_2x_coco.py']

model = dict(
    cross_layer=2,
    kd_terms=dict(
        cross_cls=dict(
            loss=dict(type='mmkd.QualityFocalKDLoss', beta=1.0, loss_weight=0.4),
            inputs=['s_cross_cls_rows', 't_cls_rows', None, 'centerness_avg_factor']),
        cross_reg=dict(
            loss=dict(type='mmdet.IoULoss', loss_weight=0.75),
            inputs=['s_cross_boxes', 't_boxes', 't_score_weights', 'centerness_avg_factor'])))

# the reference's: the learning rate scaled linearly from 0.01 at 16 images
auto_scale_lr = dict(enable=True, base_batch_size=16)
