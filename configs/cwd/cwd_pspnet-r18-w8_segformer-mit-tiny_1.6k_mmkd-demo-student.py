# CWD on the logits from a teacher of another architecture on the demo data: the SegFormer demo
# teacher (configs/demo/segformer_mit-tiny_3k_mmkd-demo.py; MiT stages at strides 4-32, logits
# at 1/4 of the input) for the w8 dilated-ResNet PSPNet student of the benchmark pair (logits at
# 1/8). The teacher's logits are resized bilinearly to the student's before the loss (the
# vocabulary's t_logits); channels are the classes, equal on both sides. T 4, weight 3, as the
# benchmark pair's CWD config. Train the teacher with
#   python tools/train.py configs/demo/segformer_mit-tiny_3k_mmkd-demo.py \
#       --work-dir work_dirs/demo/segformer_teacher
_base_ = ['./cwd_pspnet-r18-w8_pspnet-r18-w16_1.6k_mmkd-demo-student.py']

model = dict(
    teacher=dict(
        config='{{ fileDirname }}/../demo/segformer_mit-tiny_3k_mmkd-demo.py',
        checkpoint='work_dirs/demo/segformer_teacher/iter_3000.pth'))
