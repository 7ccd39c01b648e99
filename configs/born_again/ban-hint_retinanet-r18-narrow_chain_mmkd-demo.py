# Born-again chain of the narrow demo student with the hint alone (python tools/distill_chain.py
# THIS_FILE): gen0 trains the student alone, gen1 the same architecture taught by gen0's exported
# student through the FPN hint only. configs/born_again/README.md, docs/born_again.md.
generations = [
    dict(name='gen0', config='configs/demo/retinanet_r18-narrow_fpn_12e_mmkd-demo.py'),
    dict(name='gen1', config='{{ fileDirname }}/'
         'ban-hint_retinanet-r18-narrow_retinanet-r18-narrow_12e_mmkd-demo.py'),
]
