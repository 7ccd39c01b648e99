# MGD on the demo pair: on each FPN level P3-P7, a 1x1 conv lifts the narrow student's 32
# channels to the teacher's 128, 65% of the positions are zeroed, and a conv3x3-ReLU-conv3x3 block
# generates the teacher's feature from the rest; the summed squared error over channels and
# positions, averaged over the images, times alpha 2e-5 (the paper's one-stage setting) is the
# loss. Settings and measured results: configs/mgd/README.md.
_base_ = ['../_base_/distill_retinanet_mmkd-demo-student.py']

model = dict(
    kd_terms=dict(
        mgd=dict(loss=dict(type='mmkd.MGDLoss', student_channels=32, teacher_channels=128,
                           alpha_mgd=2e-5, lambda_mgd=0.65),
                 inputs=['s_neck', 't_neck'])))
