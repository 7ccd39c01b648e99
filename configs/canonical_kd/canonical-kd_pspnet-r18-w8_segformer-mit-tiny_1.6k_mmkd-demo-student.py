# The canonical baseline (logit KD + feature MSE through an adapter) from a teacher of another
# architecture on the demo data: the SegFormer demo teacher
# (configs/demo/segformer_mit-tiny_3k_mmkd-demo.py) for the w8 dilated-ResNet PSPNet student.
# - kd: the teacher's logits (1/4 of the input) resized bilinearly to the student's (1/8);
# - feat: the student's last stage (64 channels, stride 8) with the teacher's last MiT stage
#   (128 channels, stride 32), paired explicitly (teacher_levels): the 1x1 adapter lifts the
#   channels and its output is resized to the teacher's grid. Pairing by stride instead would
#   read MiT's second stage (stride 8, one block deep): levels=[3], teacher_levels=[1].
# Train the teacher with
#   python tools/train.py configs/demo/segformer_mit-tiny_3k_mmkd-demo.py \
#       --work-dir work_dirs/demo/segformer_teacher
_base_ = ['./canonical-kd_pspnet-r18-w8_pspnet-r18-w16_1.6k_mmkd-demo-student.py']

model = dict(
    teacher=dict(
        config='{{ fileDirname }}/../demo/segformer_mit-tiny_3k_mmkd-demo.py',
        checkpoint='work_dirs/demo/segformer_teacher/iter_3000.pth'),
    kd_terms=dict(feat=dict(teacher_levels=[3])))
