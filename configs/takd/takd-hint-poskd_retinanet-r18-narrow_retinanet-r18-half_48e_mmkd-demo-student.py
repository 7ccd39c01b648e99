# TAKD step 2 on the benchmark pair: the converged 200-image narrow student (48 epochs) distilled
# from the teacher assistant of takd-hint-poskd_retinanet-r18-half_retinanet-r18_24e_mmkd-demo.py
# (its exported student, a plain checkpoint of the assistant's model config) with the demo's
# terms (hint on P3, P4 through 1x1 adapters 32 -> 64, logit KD on the positive anchors). The
# benchmark queue trains and exports the assistant first; the distilled row's minutes are this
# step's only, as a teacher's are not counted.
_base_ = ['../demo/hint-poskd_retinanet-r18-narrow_retinanet-r18_48e_mmkd-demo-student.py']

model = dict(teacher=dict(config='{{ fileDirname }}/retinanet_r18-half_fpn_12e_mmkd-demo.py',
                          checkpoint='work_dirs/demo/takd_assistant/export/student.pth'))
