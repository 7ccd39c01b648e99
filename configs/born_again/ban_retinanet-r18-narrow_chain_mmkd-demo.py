# Born-again chain of the narrow demo student (python tools/distill_chain.py THIS_FILE):
# gen0 trains the student alone, gen1 the same architecture distilled from gen0's exported
# student (teacher='previous', the default). Add dict(name='gen2', config=<the gen1 config>) for
# a further generation. configs/born_again/README.md, docs/born_again.md.
generations = [
    dict(name='gen0', config='configs/demo/retinanet_r18-narrow_fpn_12e_mmkd-demo.py'),
    dict(name='gen1', config='{{ fileDirname }}/'
         'ban-hint-poskd_retinanet-r18-narrow_retinanet-r18-narrow_12e_mmkd-demo.py'),
]
