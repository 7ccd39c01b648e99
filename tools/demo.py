"""The mmkd demo: build the offline demo data, train a teacher, a student baseline and a distilled
student with the same schedule and seed, evaluate all three with mmdet's CocoMetric, print a table.

    python tools/demo.py [--work-dir work_dirs/demo] [--task detection|segmentation]

``--task segmentation`` does the same for semantic segmentation: PSPNet teacher and student,
CWD on the logits, mmseg's IoUMetric (about 19 minutes, 11 of them the teacher's).

Every model is trained through ``tools/train.py`` and evaluated through ``tools/test.py``, as a
user would. The teacher is trained only when its checkpoint does not exist yet (delete its folder
to retrain it); the two students are trained on every run. About 12.5 minutes on 2 CPU cores,
6 of them the teacher's.
"""
import argparse
import json
import os
import re
import os.path as osp
import subprocess
import sys
import time
import warnings

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)
CONFIGS = osp.join(ROOT, 'configs', 'demo')
TEACHER = osp.join(CONFIGS, 'retinanet_r18_fpn_12e_mmkd-demo.py')
STUDENT = osp.join(CONFIGS, 'retinanet_r18-narrow_fpn_12e_mmkd-demo.py')
DISTILL = osp.join(CONFIGS, 'hint-poskd_retinanet-r18_retinanet-r18-narrow_12e_mmkd-demo.py')
SEG_TEACHER = osp.join(CONFIGS, 'pspnet_r18-w32-d8_1.5k_mmkd-demo.py')
SEG_STUDENT = osp.join(CONFIGS, 'pspnet_r18-w16-d8_0.8k_mmkd-demo.py')
SEG_DISTILL = osp.join(ROOT, 'configs', 'cwd',
                       'cwd_pspnet-r18-w32_pspnet-r18-w16_0.8k_mmkd-demo.py')
DATA = osp.join(ROOT, 'data', 'mmkd_demo')
# Measured on 2 CPU cores (minutes), for the progress messages.
EXPECTED_MINUTES = dict(teacher=6.0, student=2.5, distilled=4.0, seg_teacher=11.0, seg_student=2.7,
                        seg_distilled=4.7)
STAGES = 4


class DemoEta:
    """The ETA of the whole demo: the EXPECTED_MINUTES of the runs it still has to train, times
    how much longer (or shorter) than expected the runs trained so far took (a busy machine).
    Evaluation (seconds per model) is left out."""

    def __init__(self, runs):
        self.left = list(runs)
        self.expected = 0.0
        self.took = 0.0

    def trained(self, name, minutes):
        if name in self.left:
            self.left.remove(name)
            self.expected += EXPECTED_MINUTES[name]
            self.took += minutes

    def minutes(self):
        pace = self.took / self.expected if self.expected else 1.0
        return pace * sum(EXPECTED_MINUTES[name] for name in self.left)

    def __str__(self):
        left = self.minutes()
        return 'ETA of the whole demo ' + (f'~{left:.0f} min' if left >= 1 else 'under a minute')

    def stage(self, k, text):
        print(f'[demo] stage {k}/{STAGES} {text}; {self}', flush=True)


EPOCH_END = re.compile(r'Epoch\(train\)\s*\[(\d+)\]\[(\d+)/(\d+)\].*?eta: (\S+).*?\sloss: (\S+)')
ITERS = re.compile(r'Iter\(train\)\s*\[\s*(\d+)/(\d+)\].*?eta: (\S+).*?\sloss: (\S+)')


def progress(line):
    """The line to show for a line of the training log: one per epoch (every 250 iterations for
    iteration-based runs), and the val metric."""
    match = EPOCH_END.search(line)
    if match and match.group(2) == match.group(3):
        epoch, _, _, eta, loss = match.groups()
        return f'epoch {epoch} done, loss {loss}, ETA of this run {eta}'
    match = ITERS.search(line)
    if match and int(match.group(1)) % 250 == 0:
        done, total, eta, loss = match.groups()
        return f'iteration {done}/{total}, loss {loss}, ETA of this run {eta}'
    if 'Iter(val)' in line and 'mIoU:' in line:
        return 'val ' + line.split('Iter(val)')[1].split('data_time')[0].split(']')[-1].strip()
    if 'bbox_mAP_copypaste' in line:
        return 'val bbox mAP, AP50, AP75, S, M, L: ' + line.split('bbox_mAP_copypaste:')[1].strip()
    return None


def run(cmd, log_path, show=progress):
    """Runs ``cmd``; prints its progress, keeps the whole output in a log."""
    os.makedirs(osp.dirname(log_path), exist_ok=True)
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True)
        for line in proc.stdout:
            log.write(line)
            log.flush()  # so that the log can be followed while the run goes on
            shown = show(line)
            if shown:
                print('   ', shown, flush=True)
        if proc.wait():
            raise SystemExit(f'[demo] failed: {" ".join(cmd)}\n       see {log_path}')


def train(name, config, work_dir, options=(), reuse=False, last='epoch_12.pth', eta=None):
    """Trains ``config`` into ``work_dir`` with tools/train.py; returns the checkpoint ``last``.
    ``reuse``: not again when it exists. ``eta`` (a DemoEta) is told how long the run took."""
    ckpt = osp.join(work_dir, last)
    if reuse and osp.isfile(ckpt):
        print(f'[demo] {name}: checkpoint {osp.relpath(ckpt, ROOT)} exists, not training again')
        return ckpt
    about = f'about {EXPECTED_MINUTES[name]:.0f} min on 2 cores; ' \
        if name in EXPECTED_MINUTES else ''
    print(f'[demo] training the {name} ({about}mmengine prints its own ETA)', flush=True)
    start = time.time()
    cmd = [sys.executable, 'tools/train.py', config, '--work-dir', work_dir]
    if options:
        cmd += ['--cfg-options', *options]
    run(cmd, osp.join(work_dir, 'demo_train.log'))
    minutes = (time.time() - start) / 60
    if eta is not None:
        eta.trained(name, minutes)
    print(f'[demo] {name} trained in {minutes:.1f} min' + (f'; {eta}' if eta is not None else ''),
          flush=True)
    return ckpt


def evaluate(name, config, checkpoint, work_dir):
    out = osp.join(work_dir, 'test_metrics.json')
    cmd = [sys.executable, 'tools/test.py', config, checkpoint, '--work-dir',
           osp.join(work_dir, 'test'), '--metrics-json', out]
    run(cmd, osp.join(work_dir, 'demo_test.log'), show=lambda line: None)
    with open(out) as f:
        metrics = json.load(f)
    if 'coco/bbox_mAP' in metrics:
        print(f'[demo] {name}: bbox mAP {metrics["coco/bbox_mAP"]:.3f}', flush=True)
    else:
        print(f'[demo] {name}: mIoU {metrics["mIoU"]:.2f}', flush=True)
    return metrics


def count_params(config):
    # mmengine imports pkg_resources, which setuptools < 81 (pinned for mmcv) warns about.
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
    from mmengine.config import Config

    from mmkd.models.distillers.base import build_model
    cfg = Config.fromfile(config)
    return sum(p.numel() for p in build_model(cfg.model, cfg.get('default_scope', 'mmdet'))
               .parameters())


def main(argv=None):
    parser = argparse.ArgumentParser(description='mmkd demo: teacher, student, distilled student')
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'demo'))
    parser.add_argument('--task', choices=['detection', 'segmentation'], default='detection')
    args = parser.parse_args(argv)
    started = time.time()
    seg = args.task == 'segmentation'
    names = ('seg_teacher', 'seg_student', 'seg_distilled') if seg else \
        ('teacher', 'student', 'distilled')
    dirs = {k: osp.join(args.work_dir, k) for k in names}
    teacher_ckpt = osp.join(dirs[names[0]], 'iter_1500.pth' if seg else 'epoch_12.pth')
    eta = DemoEta(names[1:] if osp.isfile(teacher_ckpt) else names)

    from tools.dataset.make_demo_data import ensure
    eta.stage(1, 'demo dataset')
    ensure(DATA)
    if seg:
        return segmentation(dirs, teacher_ckpt, eta, args.work_dir, started)

    eta.stage(2, 'teacher')
    t_ckpt = train('teacher', TEACHER, dirs['teacher'], reuse=True,
                   last=osp.basename(teacher_ckpt), eta=eta)
    eta.stage(3, 'student baseline and distilled student (same schedule and seed)')
    s_ckpt = train('student', STUDENT, dirs['student'], eta=eta)
    d_ckpt = train('distilled', DISTILL, dirs['distilled'],
                   [f'model.teacher.checkpoint={t_ckpt}'], eta=eta)

    eta.stage(4, 'evaluation with tools/test.py (COCO bbox metric on the val split)')
    rows = [
        ('teacher  RetinaNet R18 FPN-128', TEACHER,
         evaluate('teacher', TEACHER, t_ckpt, dirs['teacher'])),
        ('student  RetinaNet R18/4 FPN-32', STUDENT,
         evaluate('student', STUDENT, s_ckpt, dirs['student'])),
        ('distilled student (hint + positive logit KD)', STUDENT,
         evaluate('distilled', DISTILL, d_ckpt, dirs['distilled'])),
    ]
    report(rows, [('bbox mAP', 'coco/bbox_mAP'), ('AP50', 'coco/bbox_mAP_50'),
                  ('AP75', 'coco/bbox_mAP_75')], 3, osp.join(args.work_dir, 'results.md'), started)


def segmentation(dirs, teacher_ckpt, eta, work_dir, started):
    """Teacher, student and CWD student of the demo's segmentation task, with mmseg's mIoU."""
    last = 'iter_800.pth'
    eta.stage(2, 'teacher (PSPNet R18 at half width)')
    t_ckpt = train('seg_teacher', SEG_TEACHER, dirs['seg_teacher'], reuse=True,
                   last=osp.basename(teacher_ckpt), eta=eta)
    eta.stage(3, 'student baseline and CWD student (same schedule and seed)')
    s_ckpt = train('seg_student', SEG_STUDENT, dirs['seg_student'], last=last, eta=eta)
    d_ckpt = train('seg_distilled', SEG_DISTILL, dirs['seg_distilled'],
                   [f'model.teacher.checkpoint={t_ckpt}'], last=last, eta=eta)
    eta.stage(4, 'evaluation with tools/test.py (mmseg IoUMetric on the val split)')
    rows = [
        ('teacher  PSPNet R18-w32', SEG_TEACHER,
         evaluate('teacher', SEG_TEACHER, t_ckpt, dirs['seg_teacher'])),
        ('student  PSPNet R18-w16', SEG_STUDENT,
         evaluate('student', SEG_STUDENT, s_ckpt, dirs['seg_student'])),
        ('CWD student (logits, T 4, weight 3)', SEG_STUDENT,
         evaluate('distilled', SEG_DISTILL, d_ckpt, dirs['seg_distilled'])),
    ]
    report(rows, [('mIoU', 'mIoU'), ('mAcc', 'mAcc'), ('aAcc', 'aAcc')], 2,
           osp.join(work_dir, 'seg_results.md'), started)


def report(rows, columns, digits, out_path, started):
    """Prints and writes the table of ``rows`` (name, config, metrics) with a column per
    (header, metric key), and the distilled student's change over the student's (rows 2 and 1)
    in the first metric."""
    lines = ['| model | params | ' + ' | '.join(h for h, _ in columns) + ' |',
             '|---' * (len(columns) + 2) + '|']
    for name, config, m in rows:
        lines.append(f'| {name} | {count_params(config) / 1e6:.2f} M | ' +
                     ' | '.join(f'{m[key]:.{digits}f}' for _, key in columns) + ' |')
    table = '\n'.join(lines)
    with open(out_path, 'w') as f:
        f.write(table + '\n')
    print('\n' + table + '\n')
    header, key = columns[0]
    gain = rows[2][2][key] - rows[1][2][key]
    print(f'[demo] distillation changed the student by {gain:+.{digits}f} {header}; done in '
          f'{(time.time() - started) / 60:.1f} min; table in {osp.relpath(out_path, ROOT)}')


if __name__ == '__main__':
    main()
