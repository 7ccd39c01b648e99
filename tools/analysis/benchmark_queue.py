"""Benchmark many distill configs one after another with the protocol of kd_benchmark.py, and
keep one table of them all.

    python tools/analysis/benchmark_queue.py QUEUE [--seeds 0 1 2] [--max-factor 2]
        [--match-step 1/8] [--only TEXT] [--list] [--out work_dirs/kd_benchmark]
        [--record FILE]

QUEUE is a text file. ``student: CONFIG`` names the student config of the lines after it;
``teacher: CONFIG WORK_DIR`` says how to train a teacher the distill configs load (its last
checkpoint in WORK_DIR): a benchmark whose teacher checkpoint is missing has it trained first
with ``tools/train.py``. When CONFIG is itself a distill config (a teacher assistant, TAKD),
its student is exported with ``tools/export_student.py`` to ``WORK_DIR/export/student.pth``
(and ``student_config.py``), the checkpoint the next distill config names as its teacher's.
Every other line is one benchmark, ``DISTILL_CONFIG [KEY=VALUE ...]``, the options overriding
the distill config only (a KD weight being tuned). ``#`` starts a comment. A mutual-learning
config (no teacher) is one benchmark too: its row is the mean of its students' metrics. Each
benchmark is ``tools/analysis/kd_benchmark.py STUDENT DISTILL`` in its own process, with its own
work dir (``OUT/<distill config name>`` and, with options, ``+<options>``), and the students'
rows shared under ``OUT/students/``: the ladder and the compute-matched runs of one student are
trained once for all its methods. The compute-matched
length is rounded up to a multiple of ``--match-step`` (default an eighth of the student's
schedule), so that methods of about the same cost share it. Every run is resumable as
kd_benchmark's are: stop the queue at any time and start it again with the same arguments. A
benchmark that fails is reported and the queue goes on.

``OUT/summary.md`` and ``OUT/summary.json`` are rewritten after every benchmark, from the
``results.json`` of every line: the converged baseline, the distilled student, the compute-
matched baseline, the gains against both and whether each is more than twice that baseline's
std, with train minutes. ``--list`` writes them from what is on disk and trains nothing.
``--record FILE`` keeps every benchmark's results and runs in one file to commit; on a machine
whose ``OUT`` is empty the queue restores them from it first and goes on where it stopped.
"""
import argparse
import functools
import os
import json
import os.path as osp
import re
import subprocess
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from tools.analysis.kd_benchmark import read_record, student_dir, write_json  # noqa: E402

#: {old config path: new config path} of the configs renamed student-first
RENAMED = osp.join(ROOT, 'configs', 'renamed.json')


def read_queue_record(path, renamed=RENAMED):
    """The queue's record at ``path`` ({} when there is none), with the names of configs renamed
    since it was written (``renamed``, old path -> new path) written as they are now: its
    benchmark labels and the run paths under them. A record made before the configs were
    renamed student-first goes on being used."""
    record = read_record(path) or {}
    for bench in record.values():  # the checkout each run with an earlier train key was made in
        made_in = str(bench.get('student_config', '')).partition(f'{os.sep}configs{os.sep}')
        for run in bench.get('runs', {}).values():
            if made_in[1] and 'train_key' in run and 'train_key_version' not in run:
                run.setdefault('legacy_root', made_in[0])
    if not record or not osp.isfile(renamed):
        return record
    with open(renamed) as f:
        stems = {osp.splitext(osp.basename(old))[0]: osp.splitext(osp.basename(new))[0]
                 for old, new in json.load(f).items()}
    if not stems:
        return record
    pattern = re.compile(r'(?<![\w.-])(' + '|'.join(
        re.escape(old) for old in sorted(stems, key=len, reverse=True)) + r')(?![\w-])')
    return json.loads(pattern.sub(lambda m: stems[m.group(1)], json.dumps(record)))


def parse_queue(path):
    """The benchmarks of the queue file at ``path``: a list of dicts with ``student``,
    ``distill``, ``options`` (KEY=VALUE strings), ``line`` (its number, for errors) and
    ``teachers`` (the ``teacher:`` lines so far, as (config, work dir))."""
    entries, student, teachers = [], None, []
    with open(path) as f:
        for number, raw in enumerate(f, 1):
            text = raw.split('#', 1)[0].strip()
            if not text:
                continue
            where = f'{path}:{number}'
            if text.startswith('student:'):
                student = text[len('student:'):].strip()
                _require_file(student, where)
                continue
            if text.startswith('teacher:'):
                words = text[len('teacher:'):].split()
                if len(words) != 2:
                    raise ValueError(f'{where}: write "teacher: CONFIG WORK_DIR" (the teacher '
                                     'config and the folder its checkpoints go to)')
                _require_file(words[0], where)
                teachers.append(tuple(words))
                continue
            if student is None:
                raise ValueError(f'{where}: {text.split()[0]} comes before any "student: '
                                 'CONFIG" line; name the student config it is compared with')
            distill, *options = text.split()
            _require_file(distill, where)
            for option in options:
                if '=' not in option:
                    raise ValueError(f'{where}: {option!r} is not KEY=VALUE')
            entries.append(dict(student=student, distill=distill, options=options,
                                line=number, teachers=list(teachers)))
    if not entries:
        raise ValueError(f'{path} names no distill config')
    return entries


def _require_file(config, where):
    if not osp.isfile(config if osp.isabs(config) else osp.join(ROOT, config)):
        raise ValueError(f'{where}: config {config!r} does not exist')


def _abs(path):
    return osp.normpath(path if osp.isabs(path) else osp.join(ROOT, path))


def teachers_to_train(entry):
    """The ``teacher:`` lines (config, work dir) to train before ``entry``, in order: its
    missing teacher, and before it that teacher's own when it is a distill config (a teacher
    assistant learns from a teacher that may be missing too)."""
    chain = []
    while True:
        teacher = missing_teacher(entry)
        if teacher is None or teacher in chain:
            return chain[::-1]
        chain.append(teacher)
        if not is_distill_config(teacher[0]):
            return chain[::-1]
        entry = dict(entry, distill=teacher[0], options=[])


def missing_teacher(entry):
    """The (config, work dir) of a ``teacher:`` line that writes the missing teacher checkpoint
    of ``entry``'s distill config; None when the checkpoint exists. A missing checkpoint no
    ``teacher:`` line writes is left to kd_benchmark's own error."""
    from mmengine.config import Config
    cfg = Config.fromfile(_abs(entry['distill']))
    cfg.merge_from_dict(_options_dict(entry['options']))
    ckpt = cfg.model.get('teacher', {}).get('checkpoint')
    if not ckpt or osp.isfile(_abs(ckpt)):
        return None
    for config, work_dir in entry['teachers']:
        if teacher_checkpoint(config, work_dir) == _abs(ckpt):
            return config, work_dir
    return None


@functools.lru_cache(maxsize=None)
def is_distill_config(config):
    """Whether ``config`` is a distill config (a teacher, or the students of mutual learning);
    read once per path, as every benchmark asks it of every ``teacher:`` line."""
    from mmengine.config import Config

    from mmkd.apis import distiller_class
    return distiller_class(Config.fromfile(_abs(config))) is not None


def teacher_checkpoint(config, work_dir):
    """The checkpoint the ``teacher: CONFIG WORK_DIR`` line writes: the last one of the run, or
    for a distill config the export of its student."""
    from tools.demo import last_name
    if is_distill_config(config):
        return osp.join(_abs(work_dir), 'export', 'student.pth')
    return osp.join(_abs(work_dir), last_name(_abs(config))[0])


def _options_dict(options):
    from mmengine.config import DictAction
    out = {}
    for option in options:
        key, value = option.split('=', 1)
        out[key] = DictAction._parse_iterable(value)
    return out


def train_teacher(config, work_dir):
    """Trains the ``teacher:`` line's config into ``work_dir`` (and exports its student when it
    is a distill config); a trained checkpoint is not trained again."""
    from tools.demo import last_name, run, train
    print(f'[benchmark-queue] training the teacher {config} into {work_dir}', flush=True)
    ckpt, _ = train(osp.splitext(osp.basename(config))[0], _abs(config), _abs(work_dir),
                    reuse=True, last=last_name(_abs(config))[0])
    if is_distill_config(config):
        export = osp.join(_abs(work_dir), 'export')
        print(f'[benchmark-queue] exporting its student to {export}', flush=True)
        run([sys.executable, osp.join(ROOT, 'tools', 'export_student.py'), _abs(config), ckpt,
             export], osp.join(_abs(work_dir), 'export.log'))


def label_of(entry):
    """The work dir name of a benchmark: the distill config's name, and its options (the
    common ``model.kd_terms.`` prefix left out)."""
    name = osp.splitext(osp.basename(entry['distill']))[0]
    if not entry['options']:
        return name
    options = [o.replace('model.kd_terms.', '').replace('/', '_') for o in entry['options']]
    return name + '+' + ','.join(options)


def short_label(entry):
    """The table's name of a benchmark: the method part of the config name (before its first
    ``_``) and the options."""
    name = osp.basename(entry['distill']).split('_', 1)[0]
    options = [o.replace('model.kd_terms.', '') for o in entry['options']]
    return name + (f' ({", ".join(options)})' if options else '')


def student_label(student):
    """The table's name of a student config: its model part (``retinanet_r18-narrow``,
    ``pspnet_r18-w8-d8``), which tells the pairs apart."""
    return '_'.join(osp.basename(student).split('_')[:2])


def command(entry, out, seeds, max_factor, match_step='1/8'):
    cmd = [sys.executable, osp.join(ROOT, 'tools', 'analysis', 'kd_benchmark.py'),
           entry['student'], entry['distill'], '--seeds', *map(str, seeds),
           '--max-factor', str(max_factor), '--match-step', match_step,
           '--work-dir', osp.join(out, label_of(entry)),
           '--baseline-dir', student_dir(out, entry['student'])]
    if entry['options']:
        cmd += ['--distill-options', *entry['options']]
    return cmd


# ------------------------------------------------------------------------------ the summary
def summary_rows(entries, out, failed=()):
    """One row per benchmark from its ``results.json`` (None fields where it has not run)."""
    rows = []
    for entry in entries:
        label = label_of(entry)
        row = dict(label=label, name=short_label(entry), distill=entry['distill'],
                   options=entry['options'],
                   student=entry['student'], state='not run')
        results = read_record(osp.join(out, label, 'results.json'))
        if label in failed:
            row['state'] = 'failed'
        if results is not None:
            conv = results['ladder'][results['converged']['index']] \
                if results.get('converged') else None
            row.update(kind=results['kind'], teacher=results.get('teacher'),
                       converged=_brief(conv), converged_stopped=bool(
                           results.get('converged') and results['converged']['stopped']),
                       distilled=_brief(results.get('distilled')),
                       matched=_brief(results.get('matched')), gains=results.get('gains'))
            if row['state'] != 'failed':
                row['state'] = 'done' if results.get('gains') else 'partial'
        rows.append(row)
    return rows


def _brief(row):
    if not row:
        return None
    brief = dict(units=row['units'], mean=row['mean'], std=row['std'],
                 minutes=row['mean_minutes'], seeds=len(row['values']))
    if 'time_ratio' in row:  # the compute-matched row: its share of the distilled run's time
        brief['time_ratio'] = row['time_ratio']
    if row.get('dominated'):  # not trained: the converged student fits its time and wins
        brief['dominated'] = True
    return brief


def verdict(gains):
    """'pays' when the gain beats both baselines by more than twice their std, 'within noise'
    when it is positive against both but not beyond that, 'does not gain' otherwise."""
    same, matched = gains['same_schedule'], gains['compute_matched']
    if same['beyond_2std'] and matched['beyond_2std']:
        return 'pays'
    if same['gain'] > 0 and matched['gain'] > 0:
        return 'within noise'
    return 'does not gain'


def summary_table(rows):
    """Markdown, one line per benchmark; mIoU (in percent) with 2 decimals, mAP with 3."""
    lines = ['| benchmark | student | converged student | distilled | train min | '
             'compute-matched student | gain (same schedule) | gain (compute-matched) | '
             'verdict |',
             '|---|---|---|---|---|---|---|---|---|']

    def cell(brief, unit, digits):
        if brief is None:
            return ''
        if brief.get('dominated'):
            return 'not trained: the converged student fits its time and scores higher'
        share = f', {100 * brief["time_ratio"]:.0f}% of its time' if 'time_ratio' in brief \
            else ''
        return (f'{brief["mean"]:.{digits}f} ± {brief["std"]:.{digits}f} ({brief["units"]}'
                f'{unit}{share})')

    for row in rows:
        unit = 'e' if row.get('kind') == 'epochs' else 'i'
        ref = row.get('converged')
        digits = 2 if ref and ref['mean'] > 1.5 else 3
        conv = cell(ref, unit, digits)
        if row.get('converged') and not row['converged_stopped']:
            conv += ', not converged'
        dist, gains = row.get('distilled'), row.get('gains')
        cells = [row['name'], student_label(row['student']), conv, cell(dist, unit, digits),
                 f'{dist["minutes"]:.1f}' if dist else '',
                 cell(row.get('matched'), unit, digits)]
        if gains and row['state'] == 'done':
            cells += [f'{"≤ " if gains[k].get("at_most") else ""}{gains[k]["gain"]:+.{digits}f}'
                      for k in ('same_schedule', 'compute_matched')] + [verdict(gains)]
        else:
            cells += ['', '', row['state']]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines) + '\n'


def write_summary(entries, out, failed=()):
    rows = summary_rows(entries, out, failed)
    write_json(osp.join(out, 'summary.json'), rows)
    with open(osp.join(out, 'summary.md'), 'w') as f:
        f.write(summary_table(rows))
    return rows


def write_record(entries, out, path):
    """Every benchmark's ``results.json`` with at least one row, keyed by its label, with its
    options and ``runs``: the record (``run.json``) of every run its rows were made of, its own
    and its student's, by their path under ``out``. The record to commit beside the tables quoted
    from it, and enough to measure on from it where the work dirs are gone (``restore_record``).
    Benchmarks already in the file at ``path`` and not on disk here are kept: a queue run on a
    new machine adds to the record, it does not drop what was measured before."""
    record = read_queue_record(path)
    for entry in entries:
        results = read_record(osp.join(out, label_of(entry), 'results.json'))
        if results is None:
            continue
        before = record.get(label_of(entry), {})
        runs = dict(before.get('runs', {}))
        found = 0
        for rel in run_paths(entry, results):
            run = read_record(osp.join(out, rel))
            if run is not None:
                runs[rel] = run
                found += 1
        if before.get('kind') and found < len(run_paths(entry, before)):
            continue  # a stale work dir measured less than the record holds: keep the record's
        results.pop('restored_from', None)  # it is this record's own entry
        record[label_of(entry)] = dict(results, options=entry['options'], runs=runs)
    write_json(path, record)
    return record


def run_paths(entry, results):
    """The ``run.json`` paths (under the queue's out dir) of the runs ``results`` was made of:
    each seed of its ladder, its distilled row, every length its compute-matched row tried, and
    the seeds so far of a row it was stopped in."""
    unit = 'e' if results['kind'] == 'epochs' else 'i'
    student = student_dir('', entry['student'])
    rows = [(student, r['row'], r.get('seeds', [])) for r in results.get('ladder', [])]
    if results.get('distilled'):
        dist = results['distilled']
        rows.append((label_of(entry), dist['row'], dist.get('seeds', [])))
    matched = results.get('matched') or {}
    tries = [t['units'] for t in matched.get('tries', [])] or \
        ([matched['units']] if matched else [])
    rows += [(student, f'student_{units}{unit}', matched.get('seeds', [])) for units in tries]
    running = results.get('running')  # a row stopped part way: the seeds it has
    if running:
        where = student if running['row'].startswith('student') else label_of(entry)
        rows.append((where, running['row'], running.get('seeds', [])))
    return [osp.join(where, 'runs', row, f'seed{seed}', 'run.json')
            for where, row, seeds in rows for seed in seeds]


def restore_record(entries, out, path):
    """Writes back what the record at ``path`` holds and ``out`` lacks: each benchmark's
    ``results.json`` and the ``run.json`` of its runs, so that the queue goes on from the record
    on a machine whose work dirs are gone, retraining nothing measured before. A results.json
    restored this way is marked ``restored_from``; the queue leaves a restored benchmark alone
    when it is complete (``settled``). Records written before runs were kept have only each
    row's per-seed metric and minutes: those rows are rebuilt from that. Returns the labels
    restored."""
    record = read_queue_record(path)
    restored = []
    for entry in entries:
        label = label_of(entry)
        if label not in record or osp.isfile(osp.join(out, label, 'results.json')):
            continue
        saved = dict(record[label])
        runs = saved.pop('runs', None) or _runs_of_rows(entry, saved)
        saved.pop('options', None)
        for rel, run in runs.items():
            target = osp.join(out, rel)
            if not osp.isfile(target):
                write_json(target, dict(run, restored_from=osp.relpath(path, ROOT)))
        write_json(osp.join(out, label, 'results.json'),
                   dict(saved, restored_from=osp.relpath(path, ROOT)))
        restored.append(label)
    return restored


def _runs_of_rows(entry, results):
    """``run.json`` records rebuilt from the rows of an older record (each seed's metric and
    minutes, no config hash): under the metric key kd_benchmark reads by default, the distilled
    runs with the metric of the teacher they learned from."""
    key = 'coco/bbox_mAP' if results['kind'] == 'epochs' else 'mIoU'
    runs = {}
    student = student_dir('', entry['student'])
    rows = [(student, r) for r in results.get('ladder', [])]
    rows += [(label_of(entry), results['distilled'])] if results.get('distilled') else []
    rows += [(student, results['matched'])] if results.get('matched') else []
    for where, row in rows:
        for seed, value, minutes in zip(row['seeds'], row['values'], row['minutes']):
            run = dict(row=row['row'], seed=seed, units=row['units'], minutes=minutes,
                       metric=value, metrics={key: value})
            if row['row'].startswith('distilled') and results.get('teacher') is not None:
                run['teacher'] = results['teacher']  # the teacher these runs learned from
            runs[osp.join(where, 'runs', row['row'], f'seed{seed}', 'run.json')] = run
    return runs


def settled(results):
    """Whether a benchmark restored from the record is complete: its gains are in and its
    compute-matched row got its share of the time (or all its tries, or was not needed:
    ``dominated``). One that is not (measured before the top-up rule, or stopped part way) is
    run again, on top of what was restored."""
    from tools.analysis.kd_benchmark import MATCH_TOLERANCE, MAX_TOP_UPS
    matched = (results or {}).get('matched') or {}
    if not results or not results.get('gains') or 'time_ratio' not in matched:
        return False
    return matched.get('dominated') or matched['time_ratio'] >= MATCH_TOLERANCE or \
        len(matched.get('tries', [])) > MAX_TOP_UPS


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('queue', help='the queue file (see the module docstring)')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--max-factor', type=int, default=2)
    parser.add_argument('--match-step', default='1/8',
                        help="kd_benchmark's --match-step (N units or 1/K of the schedule)")
    parser.add_argument('--only', help='run only the benchmarks whose label contains this')
    parser.add_argument('--list', action='store_true',
                        help='write the summary from what is on disk; train nothing')
    parser.add_argument('--out', default=osp.join(ROOT, 'work_dirs', 'kd_benchmark'))
    parser.add_argument('--record', help="also write every benchmark's results.json and runs "
                        'into this one JSON file (e.g. configs/demo/benchmark_queue_results.json'
                        '), adding to what it holds; what it holds and OUT lacks is restored '
                        'first, so that a queue on a new machine goes on from it')
    args = parser.parse_args(argv)
    try:
        entries = parse_queue(args.queue)
    except ValueError as e:
        parser.error(str(e))
    os.makedirs(args.out, exist_ok=True)
    chosen = [e for e in entries if not args.only or args.only in label_of(e)]
    if not chosen:
        parser.error(f'--only {args.only!r} matches none of the {len(entries)} benchmarks')
    if args.record:
        restored = restore_record(entries, args.out, args.record)
        if restored:
            print(f'[benchmark-queue] restored {len(restored)} benchmarks and their runs from '
                  f'{args.record}', flush=True)
    failed = []
    if not args.list:
        for i, entry in enumerate(chosen, 1):
            print(f'[benchmark-queue] {i} of {len(chosen)}: {label_of(entry)}', flush=True)
            results = read_record(osp.join(args.out, label_of(entry), 'results.json'))
            if results and results.get('restored_from') and settled(results):
                print(f'[benchmark-queue] measured already ({results["restored_from"]}); '
                      f'delete {osp.join(args.out, label_of(entry))} to measure it again',
                      flush=True)
                continue
            try:
                for teacher in teachers_to_train(entry):
                    train_teacher(*teacher)
            except SystemExit as e:  # tools/demo.run's failure, naming the command and log
                print(e, flush=True)
                failed.append(label_of(entry))
                write_summary(entries, args.out, failed)
                continue
            done = subprocess.run(command(entry, args.out, args.seeds, args.max_factor,
                                          args.match_step),
                                  cwd=ROOT).returncode
            if done != 0:
                failed.append(label_of(entry))
                print(f'[benchmark-queue] {label_of(entry)} failed (exit {done}); going on',
                      flush=True)
            write_summary(entries, args.out, failed)
            if args.record:  # after each benchmark: a queue stopped later loses none of it
                write_record(entries, args.out, args.record)
    write_summary(entries, args.out, failed)
    if args.record and not args.list:  # --list reads the record; it never writes it
        write_record(entries, args.out, args.record)
    with open(osp.join(args.out, 'summary.md')) as f:
        print(f.read())
    if failed:
        print('[benchmark-queue] failed: ' + ', '.join(failed))
        sys.exit(1)


if __name__ == '__main__':
    main()
