# LD from a teacher that regresses continuous offsets: ATSS R50 (one anchor per location, boxes
# decoded from deltas) teaches the GFL R18 student; its box at each positive, as distances from
# the student's anchor centre in stride units, is spread over the two nearest bins (T = 1).
# The teacher's weights: mmdet's model zoo checkpoint of atss_r50_fpn_1x_coco.
_base_ = ['./ld_gfl-r18_gfl-r101_1x_coco.py']

model = dict(
    teacher=dict(
        config='mmdet::atss/atss_r50_fpn_1x_coco.py',
        checkpoint='checkpoints/atss_r50_fpn_1x_coco_20200209-985f7bd0.pth'),
    kd_terms=dict(ld=dict(loss=dict(temperature=1.0, loss_weight=1.0))))
