# The canonical baseline from a SegFormer teacher: mmseg's SegFormer MiT-B2 (Cityscapes
# 1024 x 1024 160k, 81.08 mIoU) -> PSPNet R18-d8, mmseg's 512 x 1024 80k schedule, the terms of
# canonical-kd_pspnet-r18-d8_pspnet-r101-d8_512x1024_80k_cityscapes.py:
# - kd: pixel KL of the logits, T 1, weight 1; SegFormer's logits (1/4 of the input, 128 x 256)
#   are resized bilinearly to the student's (1/8, 64 x 128) before the loss;
# - feat: the student's last stage (512 channels, stride 8) against MiT-B2's last stage (512
#   channels, stride 32), paired explicitly; equal channels need no conv, the student's map is
#   resized to the teacher's 16 x 32 grid.
# The teacher runs on the student's 512 x 1024 crops (MiT's overlapping patch embeddings take
# any size). Not trained here: no GPU. Teacher weights: download mmseg's
#   segformer_mit-b2_8x1_1024x1024_160k_cityscapes_20211207_134205-6096669a.pth into checkpoints/.
_base_ = ['./canonical-kd_pspnet-r18-d8_pspnet-r101-d8_512x1024_80k_cityscapes.py']

model = dict(
    teacher=dict(
        _delete_=True,
        config='mmseg::segformer/segformer_mit-b2_8xb1-160k_cityscapes-1024x1024.py',
        checkpoint='checkpoints/segformer_mit-b2_8x1_1024x1024_160k_cityscapes_'
                   '20211207_134205-6096669a.pth'),
    kd_terms=dict(feat=dict(teacher_levels=[3])))
