# Teacher-assistant chain on the demo (python tools/distill_chain.py THIS_FILE): the trained demo
# teacher (work_dirs/demo/teacher/epoch_12.pth, from make demo) -> the half-width assistant ->
# the narrow student, which learns from the assistant's exported student (teacher='previous').
# configs/takd/README.md, docs/teacher_assistant.md.
generations = [
    dict(name='assistant', teacher=None, config='{{ fileDirname }}/'
         'takd-hint-poskd_retinanet-r18-half_retinanet-r18_12e_mmkd-demo.py'),
    dict(name='student', config='{{ fileDirname }}/'
         'takd-hint-poskd_retinanet-r18-narrow_retinanet-r18-half_12e_mmkd-demo.py'),
]
