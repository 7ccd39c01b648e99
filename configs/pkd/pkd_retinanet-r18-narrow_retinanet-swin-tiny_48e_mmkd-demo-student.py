# PKD from a teacher of another architecture on the demo data: the Swin demo teacher
# (configs/demo/retinanet_swin-tiny_fpn_24e_mmkd-demo.py, FPN of 128 channels) for the narrow
# ResNet-18 RetinaNet student (FPN of 32 channels). P3-P6, weight 10 per level, as in the
# RetinaNet pair's config; a 1x1 adapter per level lifts the student's 32 channels to 128. PKD
# standardises each channel, so the Swin features' other scale does not change the weight's
# meaning. The teacher is not trained here yet: train it with
#   python tools/train.py configs/demo/retinanet_swin-tiny_fpn_24e_mmkd-demo.py \
#       --work-dir work_dirs/demo/swin_teacher
_base_ = ['./pkd_retinanet-r18-narrow_retinanet-r18_48e_mmkd-demo-student.py']

model = dict(
    teacher=dict(
        config='{{ fileDirname }}/../demo/retinanet_swin-tiny_fpn_24e_mmkd-demo.py',
        checkpoint='work_dirs/demo/swin_teacher/epoch_24.pth'))
