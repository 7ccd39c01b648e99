"""The mmkd demo: build the offline demo data, train a teacher, a student baseline, a distilled
student and a compute-matched student, evaluate all four with the mm metrics, print a table.

    python tools/demo.py [--work-dir work_dirs/demo] [--task detection|segmentation]

Detection: a RetinaNet R18 teacher trained 24 epochs on all 400 train images, and a narrow
RetinaNet student that sees only the first 200 (the data-limited student, converged at 48
epochs; configs/demo/README.md). The rows:

1. the teacher;
2. the student on its own, on the distilled student's schedule;
3. the student on its own, trained for as long as the distilled run took (the same wall time:
   the student run's measured pace, ``tools/analysis/kd_benchmark.py``'s fit);
4. the distilled student (hint on P3, P4 + logit KD on the positive anchors).

``--task segmentation`` does the same for the PSPNet pair, with mmseg's IoUMetric: a w16 PSPNet
R18 teacher trained 3000 iterations on all 400 images, a w8 student that sees the first 50, and
CWD on the logits.

Every model is trained through ``tools/train.py`` and evaluated through ``tools/test.py``, as a
user would; each row gives its train minutes. The teacher is trained only when its checkpoint
does not exist yet (delete its folder to retrain it); the students are trained on every run.
One seed: ``tools/analysis/kd_benchmark.py`` measures the same pair on 3 seeds, with the
converged schedule searched rather than given. About 23 minutes on 2 CPU cores from an empty
``work_dirs/``, 9.6 of them the teacher's.
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
TEACHER = osp.join(CONFIGS, 'retinanet_r18_fpn_24e_mmkd-demo.py')
STUDENT = osp.join(CONFIGS, 'retinanet_r18-narrow_fpn_48e_mmkd-demo-student.py')
DISTILL = osp.join(CONFIGS,
                   'hint-poskd_retinanet-r18-narrow_retinanet-r18_48e_mmkd-demo-student.py')
SEG_TEACHER = osp.join(CONFIGS, 'pspnet_r18-w16-d8_3k_mmkd-demo.py')
SEG_STUDENT = osp.join(CONFIGS, 'pspnet_r18-w8-d8_1.6k_mmkd-demo-student.py')
SEG_DISTILL = osp.join(ROOT, 'configs', 'cwd',
                       'cwd_pspnet-r18-w8_pspnet-r18-w16_1.6k_mmkd-demo-student.py')
DATA = osp.join(ROOT, 'data', 'mmkd_demo')
# Measured on 2 CPU cores (minutes), for the progress messages.
EXPECTED_MINUTES = dict(teacher=9.6, student=2.5, distilled=4.9, matched=5.3, seg_teacher=7.2,
                        seg_student=2.8, seg_distilled=4.1, seg_matched=3.8)
STAGES = 5


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
    """Trains ``config`` into ``work_dir`` with tools/train.py; returns the checkpoint ``last``
    and the minutes the tools/train.py command took (None when reused). ``reuse``: not again when
    the checkpoint exists. ``eta`` (a DemoEta) is told how long the run took."""
    ckpt = osp.join(work_dir, last)
    if reuse and osp.isfile(ckpt):
        print(f'[demo] {name}: checkpoint {osp.relpath(ckpt, ROOT)} exists, not training again')
        return ckpt, None
    if 'mmkd-demo' in osp.basename(config):  # the demo's configs read data/mmkd_demo
        from tools.dataset.make_demo_data import DEMO, ensure
        if ensure(DATA, **DEMO):  # a run started by the benchmark tools on a fresh clone
            print(f'[demo] built the demo dataset in {osp.relpath(DATA, ROOT)}', flush=True)
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
    return ckpt, minutes


def evaluate(name, config, checkpoint, work_dir, args=()):
    """tools/test.py on ``checkpoint`` (with the extra ``args``); returns its metrics."""
    out = osp.join(work_dir, 'test_metrics.json')
    cmd = [sys.executable, 'tools/test.py', config, checkpoint, '--work-dir',
           osp.join(work_dir, 'test'), '--metrics-json', out, *args]
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

    from mmkd.models.distillers.build import build_model
    cfg = Config.fromfile(config)
    return sum(p.numel() for p in build_model(cfg.model, cfg.get('default_scope', 'mmdet'))
               .parameters())


# The two demo tasks: the configs, the rows' names and the metric columns.
TASKS = dict(
    detection=dict(
        teacher=TEACHER, student=STUDENT, distill=DISTILL, prefix='', results='results.md',
        names=dict(teacher='teacher  RetinaNet R18 FPN-128, 400 images',
                   student='student  RetinaNet R18/4 FPN-32, 200 images',
                   matched='student, trained as long as the distilled run',
                   distilled='distilled student (hint + positive logit KD)'),
        columns=[('bbox mAP', 'coco/bbox_mAP'), ('AP50', 'coco/bbox_mAP_50'),
                 ('AP75', 'coco/bbox_mAP_75')], digits=3, unit='epochs'),
    segmentation=dict(
        teacher=SEG_TEACHER, student=SEG_STUDENT, distill=SEG_DISTILL, prefix='seg_',
        results='seg_results.md',
        names=dict(teacher='teacher  PSPNet R18-w16, 400 images',
                   student='student  PSPNet R18-w8, 50 images',
                   matched='student, trained as long as the distilled run',
                   distilled='CWD student (logits, T 4, weight 3)'),
        columns=[('mIoU', 'mIoU'), ('mAcc', 'mAcc'), ('aAcc', 'aAcc')], digits=2,
        unit='iterations'))


def last_name(config):
    """The checkpoint the last epoch / iteration of ``config`` writes, and its schedule length."""
    from mmengine.config import Config

    from tools.analysis.kd_benchmark import schedule_of
    kind, units = schedule_of(Config.fromfile(config))
    return f'{"epoch" if kind == "epochs" else "iter"}_{units}.pth', units


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='mmkd demo: teacher, student, compute-matched student, distilled student')
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'demo'))
    parser.add_argument('--task', choices=sorted(TASKS), default='detection')
    args = parser.parse_args(argv)
    started = time.time()
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
    task = TASKS[args.task]
    pre = task['prefix']
    roles = ('teacher', 'student', 'distilled', 'matched')
    dirs = {k: osp.join(args.work_dir, pre + k) for k in roles}
    t_last, t_units = last_name(task['teacher'])
    s_last, units = last_name(task['student'])
    teacher_ckpt = osp.join(dirs['teacher'], t_last)
    names = [pre + k for k in roles]
    eta = DemoEta(names[1:] if osp.isfile(teacher_ckpt) else names)

    from tools.dataset.make_demo_data import DEMO, ensure
    eta.stage(1, 'demo dataset')
    ensure(DATA, **DEMO)
    eta.stage(2, 'teacher')
    t_ckpt, t_min = train(pre + 'teacher', task['teacher'], dirs['teacher'], reuse=True,
                          last=t_last, eta=eta)
    eta.stage(3, 'student baseline and distilled student (same schedule and seed)')
    s_ckpt, s_min = train(pre + 'student', task['student'], dirs['student'], last=s_last,
                          eta=eta)
    d_ckpt, d_min = train(pre + 'distilled', task['distill'], dirs['distilled'],
                          [f'model.teacher.checkpoint={t_ckpt}'], last=s_last, eta=eta)
    matched_cfg, matched = matched_config(task['student'], units, s_min, d_min,
                                          dirs['matched'])
    eta.stage(4, f'the student for the distilled run\'s {d_min:.1f} min: {matched} instead of '
                 f'{units} {task["unit"]}')
    m_ckpt, m_min = train(pre + 'matched', matched_cfg, dirs['matched'],
                          last=last_name(matched_cfg)[0], eta=eta)

    eta.stage(5, 'evaluation with tools/test.py on the val split')
    # the params column counts the student's own model for the distilled row
    rows = [(task['names'][k], task['teacher'] if k == 'teacher' else task['student'], minutes,
             length, evaluate(k, cfg, ckpt, dirs[k]))
            for k, cfg, ckpt, minutes, length in (
                ('teacher', task['teacher'], t_ckpt, t_min, t_units),
                ('student', task['student'], s_ckpt, s_min, units),
                ('matched', task['student'], m_ckpt, m_min, matched),
                ('distilled', task['distill'], d_ckpt, d_min, units))]
    report(rows, task['columns'], task['digits'], osp.join(args.work_dir, task['results']),
           started, task['unit'])


def matched_config(student, units, student_minutes, distilled_minutes, work_dir):
    """The student config trained for as many epochs / iterations as fit in the distilled run's
    minutes, at the student run's measured pace (kd_benchmark's fit through zero); written to
    ``work_dir/config.py``. Returns (its path, its length)."""
    from mmengine.config import Config

    from tools.analysis.kd_benchmark import fit_time, matched_units, scale_schedule
    length = matched_units(distilled_minutes, fit_time([(units, student_minutes)]))
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, 'config.py')
    scale_schedule(Config.fromfile(student), length).dump(path)
    return path, length


def report(rows, columns, digits, out_path, started, unit='epochs'):
    """Prints and writes the table of ``rows`` (name, config, train minutes, schedule length,
    metrics) with a column per (header, metric key), and the distilled student's change (the
    last row) over the same-schedule student (row 1) and the compute-matched one (row 2) in the
    first metric."""
    lines = [f'| model | params | {unit} | train min | ' + ' | '.join(h for h, _ in columns) +
             ' |', '|---' * (len(columns) + 4) + '|']
    for name, config, minutes, length, m in rows:
        took = 'reused' if minutes is None else f'{minutes:.1f}'
        lines.append(f'| {name} | {count_params(config) / 1e6:.2f} M | {length} | {took} | ' +
                     ' | '.join(f'{m[key]:.{digits}f}' for _, key in columns) + ' |')
    table = '\n'.join(lines)
    with open(out_path, 'w') as f:
        f.write(table + '\n')
    print('\n' + table + '\n')
    header, key = columns[0]
    same, matched, distilled = (rows[i][4][key] for i in (1, 2, 3))
    print(f'[demo] distillation changed the student by {distilled - same:+.{digits}f} {header} '
          f'against the same schedule and by {distilled - matched:+.{digits}f} against the same '
          f'wall time (one seed; tools/analysis/kd_benchmark.py measures 3 and the converged '
          f'schedule); done in {(time.time() - started) / 60:.1f} min; table in '
          f'{osp.relpath(out_path, ROOT)}')


if __name__ == '__main__':
    main()
