# Demo segmentation student: the teacher's PSPNet ResNet-18 at half its width again (stem and
# stages 16-128 channels) with a 32-channel head.
_base_ = ['./pspnet_r18-w32-d8_1.5k_mmkd-demo.py']

model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    decode_head=dict(in_channels=128, channels=32),
    auxiliary_head=dict(in_channels=64, channels=16))
