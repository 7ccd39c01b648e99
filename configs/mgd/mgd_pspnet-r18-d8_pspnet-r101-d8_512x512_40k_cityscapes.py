# MGD for segmentation (Yang et al., ECCV 2022) in its paper's setting, as the reference code
# (yzd-v/MGD, seg/configs/distillers/mgd/psp_r101_distill_psp_r18_40k_512x512_city.py) runs it:
# PSPNet R101-d8 (mmseg's 40k model, 78.34 mIoU) -> PSPNet R18-d8, 512 x 512 crops, 40k
# iterations (configs/_base_/distill_pspnet-r18_pspnet-r101_512x512_40k_cityscapes.py). Terms:
# - mgd: on the backbone's last stage (512 -> 2048 channels by a 1x1 conv), 75% of the positions
#   masked, conv3x3-ReLU-conv3x3 generation, alpha 2e-5 (the sum over channels and positions,
#   per image);
# - cwd: the reference configs' use_logit=True adds channel-wise KD of the logits, T 4, weight 3,
#   so the published "+MGD" numbers are MGD plus this term (docs/mgd.md).
# Published (reference README): 69.85 -> 73.63 mIoU.
_base_ = ['../_base_/distill_pspnet-r18_pspnet-r101_512x512_40k_cityscapes.py']

model = dict(
    kd_terms=dict(
        mgd=dict(loss=dict(type='mmkd.MGDLoss', student_channels=512, teacher_channels=2048,
                           alpha_mgd=2e-5, lambda_mgd=0.75),
                 inputs=['s_backbone', 't_backbone'], levels=[3]),
        cwd=dict(loss=dict(type='mmkd.ChannelWiseDivergenceLoss', temperature=4.0,
                           loss_weight=3.0),
                 inputs=['s_logits', 't_logits'])))
