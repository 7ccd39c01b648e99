"""Does distillation pay? The benchmark protocol on one (student config, distill config) pair.

    python tools/analysis/kd_benchmark.py STUDENT_CONFIG DISTILL_CONFIG [--seeds 0 1 2]
        [--max-factor 8] [--work-dir work_dirs/kd_benchmark/<distill config name>]
        [--baseline-dir work_dirs/kd_benchmark/students/<student config name>]
        [--teacher-checkpoint PATH] [--metric KEY] [--cfg-options KEY=VALUE ...]
        [--distill-options KEY=VALUE ...] [--match-step N | 1/K]

It answers the two questions a gain must survive, each with its cost in train minutes:

1. **Converged baseline.** The student is trained at 1x, 2x, 4x ... its config's schedule (every
   seed) until one more doubling gains less than the seed spread (the larger of the two schedules'
   standard deviations), or until ``--max-factor``. The converged schedule is the last one before
   the doubling that did not gain; at the cap the table says that the baseline had not converged.
   The distilled student is trained at the converged schedule.
2. **Compute-matched baseline.** The student is trained for as many epochs / iterations as fit in
   the distilled run's measured wall time. The time of a student run is fitted as
   ``overhead + per_unit * units`` on the ladder's runs (same machine, same threads, one run at a
   time), and the matched length is the nearest whole number of units (with ``--match-step``,
   rounded up to a multiple of that step instead, so that methods of about the same cost share
   one compute-matched row). The fit is a prediction: when the matched runs take less than 95%
   of the distilled runs' mean time (the fit missed, or the machine ran faster than when the
   ladder was measured), the row is trained again longer, in proportion to the time it lacked
   and rounded up (at most twice more). The table gives the matched row's share of that time.
   When the distilled student does not beat the converged student and the converged student's
   runs take no longer than the distilled runs, the matched row is not trained: that budget
   buys at least the converged student, which already scores as high, so the gain against the
   compute-matched baseline is at most the same-schedule one (``dominated``; the table says so).

Each row has every seed, the mean, the standard deviation and the train minutes; the table gives
the distilled student's gain against the same-schedule and the compute-matched baselines, and
whether each gain is more than twice that baseline's standard deviation. A longer schedule scales
the config's own: ``max_epochs`` / ``max_iters``, the step milestones in proportion, the end of the
decay, the checkpoint and validation intervals; warm-ups stay as they are.

A mutual-learning distill config (``mmkd.MutualLearningDistiller``: students trained together,
no teacher) is benchmarked the same way, without a teacher row: each of its students is
evaluated (``tools/test.py --member``) and the run counts as their mean, since each is a student
a user could deploy and taking the better one afterwards would favour the row.

Every run is trained with ``tools/train.py`` and evaluated with ``tools/test.py``. A finished run
writes ``WORK_DIR/runs/<row>/seed<k>/run.json`` (metric and minutes) and is not repeated: stop the
tool at any time and start it again with the same arguments. The student's rows are kept in
``BASELINE_DIR`` instead, so that the benchmarks of several distill configs of one student train
its ladder once. ``WORK_DIR/results.json`` and
``WORK_DIR/table.md`` are rewritten after every run (a row still being measured shows the seeds
it has), so the rows measured so far can be read, and committed, while it runs. A record is
reused only for the same config (the checkpoint hook, logging and the DDP wrapper aside,
``RUNTIME_KEYS``): a changed config, ``--cfg-options`` or teacher stops the tool with the folder
to delete. Progress lines give the run, its expected minutes and an ETA.
"""
import argparse
import copy
import hashlib
import json
import math
import os
import os.path as osp
import statistics
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from mmengine.config import Config  # noqa: E402

from tools.analysis.seed_table import last_checkpoint, metric_of  # noqa: E402
from tools.demo import evaluate, train  # noqa: E402


# ------------------------------------------------------------------------- the protocol's logic
def mean_std(values):
    """Mean and sample standard deviation (0 for a single value)."""
    values = list(values)
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def converged_index(ladder):
    """The doubling stop rule. ``ladder``: [(factor, [metric per seed]), ...] in doubling order.
    Returns ``(index, stopped)``: the index of the first schedule whose doubling gained no more
    than the seed spread (the larger standard deviation of the two; with one seed, no gain), and
    True; or the last index and False when every doubling measured so far gained (not
    converged, or not yet known)."""
    for i in range(len(ladder) - 1):
        mean0, std0 = mean_std(ladder[i][1])
        mean1, std1 = mean_std(ladder[i + 1][1])
        if mean1 - mean0 <= max(std0, std1):
            return i, True
    return len(ladder) - 1, False


def fit_time(points):
    """Least-squares ``minutes = overhead + per_unit * units`` over ``points`` [(units, minutes)].
    With a single length (or a negative fitted overhead) the line goes through zero. Returns
    ``(overhead, per_unit)``."""
    xs = [float(u) for u, _ in points]
    ys = [float(m) for _, m in points]
    if not xs:
        raise ValueError('fit_time needs at least one measured run')
    if len(set(xs)) > 1:
        mx, my = statistics.mean(xs), statistics.mean(ys)
        slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / \
            sum((x - mx) ** 2 for x in xs)
        overhead = my - slope * mx
        if overhead >= 0 and slope > 0:
            return overhead, slope
    return 0.0, sum(x * y for x, y in zip(xs, ys)) / sum(x * x for x in xs)


def matched_units(minutes, fit, step=1):
    """The number of units a student run fills in ``minutes`` of wall time by the fitted line
    ``fit`` (overhead, per_unit): the nearest whole number, at least 1. With ``step`` > 1, the
    length rounded up to a multiple of ``step`` instead, so that methods of about the same cost
    share one compute-matched row."""
    overhead, per_unit = fit
    exact = (minutes - overhead) / per_unit
    if step > 1:
        return max(step, step * math.ceil(exact / step - 1e-9))
    return max(1, int(math.floor(exact + 0.5)))


# A compute-matched row whose runs took less than this share of the distilled runs' mean time is
# trained again longer, at most MAX_TOP_UPS times.
MATCH_TOLERANCE = 0.95
MAX_TOP_UPS = 2


def top_up_units(units, time_ratio, step=1):
    """The next compute-matched length after a row of ``units`` took ``time_ratio`` of the
    distilled run's time: ``units / time_ratio`` (in proportion, which with a fixed overhead per
    run errs long), rounded up to ``step``, and at least one step longer."""
    step = max(1, step)
    return max(units + step, step * math.ceil(units / time_ratio / step - 1e-9))


def parse_step(text, base):
    """``--match-step``: ``'N'`` units, or ``'1/K'`` of the ``base`` schedule (at least 1)."""
    try:
        if text.startswith('1/'):
            return max(1, int(base) // int(text[2:]))
        step = int(text)
    except (ValueError, ZeroDivisionError):
        step = 0
    if step < 1:
        raise ValueError(f'--match-step {text!r}: give a whole number of epochs / iterations '
                         '(1 or more) or a fraction of the schedule such as 1/8')
    return step


# ------------------------------------------------------------------------------- schedules
def schedule_of(cfg):
    """('epochs' | 'iters', length) of a config's train loop."""
    train_cfg = cfg.get('train_cfg') or {}
    if 'max_epochs' in train_cfg:
        return 'epochs', int(train_cfg['max_epochs'])
    if 'max_iters' in train_cfg:
        return 'iters', int(train_cfg['max_iters'])
    raise ValueError(f'train_cfg {dict(train_cfg)} has neither max_epochs nor max_iters: the '
                     'benchmark scales an epoch- or iteration-based train loop')


WARMUP_TYPES = ('LinearLR', 'ConstantLR', 'LinearMomentum', 'ConstantMomentum')


def scale_schedule(cfg, units):
    """Sets ``cfg``'s schedule (in place) to ``units`` epochs / iterations. Scaled: the loop
    length; the validation and checkpoint intervals that equalled the old length; for every
    scheduler that runs to the old end (``end`` equal to it, or unset): ``end``, a ``begin``
    after the start (unless it is where a warm-up ends), ``T_max`` (equal to its span) and step
    ``milestones``, in proportion; the decay and stop steps of ``mmkd.KDWeightScheduleHook``.
    Warm-ups (schedulers that end before the old end) are left alone. A schedule the scaling
    cannot follow stops it with an error that names the entry. Returns ``cfg``."""
    kind, old = schedule_of(cfg)

    def scaled(step):
        return max(1, int(round(step * units / old)))

    cfg.train_cfg['max_epochs' if kind == 'epochs' else 'max_iters'] = units
    if cfg.train_cfg.get('val_interval') == old:
        cfg.train_cfg['val_interval'] = units
    checkpoint = (cfg.get('default_hooks') or {}).get('checkpoint')
    if checkpoint is not None and checkpoint.get('interval') == old:
        checkpoint['interval'] = units
    schedulers = cfg.get('param_scheduler') or []
    if isinstance(schedulers, dict) and 'type' not in schedulers:
        # one list per optimizer (mmkd.MultiOptimWrapperConstructor: student, discriminator)
        schedulers = [sched for group in schedulers.values()
                      for sched in (group if isinstance(group, list) else [group])]
    schedulers = schedulers if isinstance(schedulers, list) else [schedulers]
    same_unit = []
    for sched in schedulers:
        # mmengine's schedulers count epochs unless by_epoch=False. In an epoch-based loop an
        # iteration-counted warm-up stays as it is, and an iteration-counted decay cannot be
        # scaled without the epoch's length.
        if kind == 'epochs' and not sched.get('by_epoch', True):
            if sched.get('type') in WARMUP_TYPES:
                continue
            raise ValueError(f'param_scheduler {dict(sched)} counts iterations in an '
                             'epoch-based loop: give it by_epoch=True (with convert_to_iter_'
                             'based=True if it should step every iteration) so that the '
                             'benchmark can scale it')
        same_unit.append(sched)
    warmup_ends = {sched['end'] for sched in same_unit
                   if sched.get('end') is not None and sched['end'] < old}
    for sched in same_unit:
        end = sched.get('end')
        if end is not None and end < old:
            continue  # a warm-up
        begin = sched.get('begin', 0)
        new_begin = scaled(begin) if begin and begin not in warmup_ends else begin
        if new_begin >= units:
            raise ValueError(f'param_scheduler {dict(sched)} begins at {begin}: a schedule of '
                             f'{units} {kind} ends before it; give a longer length')
        if sched.get('T_max') == (end if end is not None else old) - begin:
            sched['T_max'] = units - new_begin
        if 'begin' in sched:
            sched['begin'] = new_begin
        if end is not None:
            sched['end'] = units
        if 'milestones' in sched:
            sched['milestones'] = [scaled(m) for m in sched['milestones']]
    for hook in cfg.get('custom_hooks') or []:
        if 'KDWeightScheduleHook' not in str(hook.get('type')):
            continue
        for term, spec in hook.get('schedules', {}).items():
            steps = [k for k in ('decay_begin', 'decay_end', 'stop_at') if spec.get(k)]
            if steps and (kind == 'epochs') != bool(spec.get('by_epoch', False)):
                raise ValueError(f'KDWeightScheduleHook schedule of {term!r} ({dict(spec)}) '
                                 f'counts {"epochs" if spec.get("by_epoch") else "iterations"} '
                                 f'in a loop of {kind}: give its steps in {kind} (by_epoch='
                                 f'{kind == "epochs"}) so that the benchmark can scale them')
            for key in steps:
                spec[key] = scaled(spec[key])
    return cfg


# --------------------------------------------------------------------------------- the runs
class Runs:
    """The runs of one benchmark under ``work_dir``: their records on disk, and training and
    evaluating the missing ones with
    ``runner(config_path, work_dir, seed) -> (metrics, minutes)``."""

    def __init__(self, work_dir, runner, seeds, metric=None, eta=None, baseline_dir=None):
        self.work_dir = work_dir
        # the student rows (the ladder and the compute-matched row) of every benchmark of one
        # student: trained once, whatever distill config they are compared with
        self.baseline_dir = baseline_dir or work_dir
        self.runner = runner
        self.seeds = list(seeds)
        self.metric = metric
        self.eta = eta or (lambda row: None)
        self.records = {}
        self.trained = 0

    def dir_of(self, row):
        return self.baseline_dir if row.startswith('student') else self.work_dir

    def record_path(self, row, seed):
        return osp.join(self.dir_of(row), 'runs', row, f'seed{seed}', 'run.json')

    def run_row(self, row, cfg, units, on_done=None, extra=None):
        """Every seed of ``row`` (``cfg`` at ``units``); returns the records, and gives
        ``on_done`` the records so far after each seed; a run trained now keeps ``extra`` in its
        record (the distilled row: the metric of the teacher it learned from). A record on disk
        is reused only when it was measured with the same config (its text's SHA-1); its metric
        is read again with this benchmark's ``metric``."""
        sha, train_sha = hashlib.sha1(config_text(cfg).encode()).hexdigest(), training_sha(cfg)
        train_key = training_sha(cfg, ROOT)

        def legacy_key(root):  # the key of a record made before train_key_version
            return training_sha(cfg, ROOT, legacy_root=root)
        config = osp.join(self.dir_of(row), 'configs', f'{row}.py')
        records = []
        for seed in self.seeds:
            path = self.record_path(row, seed)
            record = read_record(path)
            if record is not None and not same_training(record, sha, train_sha, train_key,
                                                        legacy_key):
                flag = '--baseline-dir' if row.startswith('student') else '--work-dir'
                raise ValueError(
                    f'{path} was measured with another config than row {row} has now (the '
                    'configs, their options or --teacher-checkpoint changed): delete '
                    f'{osp.dirname(osp.dirname(path))} to measure it again, or give another '
                    f'{flag}')
            if record is None:
                expected = self.eta(row)
                print(f'[kd-benchmark] {row} seed {seed}: training'
                      + (f' (about {expected[0]:.1f} min; ETA of the rows planned so far '
                         f'~{expected[1]:.0f} min)' if expected else ''), flush=True)
                os.makedirs(osp.dirname(config), exist_ok=True)
                with open(config, 'w', encoding='utf-8') as f:  # Config.dump's text
                    f.write(config_text(cfg))
                metrics, minutes = self.runner(config, osp.dirname(path), seed)
                record = dict(row=row, seed=seed, units=units, minutes=minutes,
                              metric=run_metric(metrics, self.metric), config_sha=sha,
                              train_sha=train_sha, train_key=train_key,
                              train_key_version=TRAIN_KEY_VERSION,
                              metrics=metrics, **(extra or {}))
                write_json(path, record)
                self.trained += 1
                print(f'[kd-benchmark] {row} seed {seed}: {record["metric"]:.4f} in '
                      f'{minutes:.1f} min', flush=True)
            record['metric'] = run_metric(record['metrics'], self.metric)
            self.records[row, seed] = record
            records.append(record)
            if on_done is not None:
                on_done(records)
        return records


#: config keys that do not change what a run trains or how long it takes: where checkpoints go
#: and how often, logging, visualisation, the DDP wrapper (one process here). A config refactor
#: that moves only these (a shared KD runtime in ``_base_``) keeps its measured runs.
RUNTIME_KEYS = ('default_hooks.checkpoint', 'default_hooks.logger', 'log_processor',
                'visualizer', 'log_level', 'model_wrapper_cfg', 'custom_imports')


def _with_prefix(node, prefix, new):
    """``node`` (a config's dict) with every string that starts with ``prefix`` starting with
    ``new`` instead."""
    if isinstance(node, dict):
        return {k: _with_prefix(v, prefix, new) for k, v in node.items()}
    if isinstance(node, (list, tuple)):
        return type(node)(_with_prefix(v, prefix, new) for v in node)
    if isinstance(node, str) and node.startswith(prefix):
        return new + node[len(prefix):]
    return node


_TEXTS = {}


def config_text(cfg):
    """``cfg.pretty_text``, the text ``Config.dump`` writes and the hashes are made of, kept
    for each config's contents: MMEngine formats it with yapf, about a second a call, and a
    benchmark makes it for the same few configs many times."""
    key = repr(cfg.to_dict())
    if key not in _TEXTS:
        _TEXTS[key] = cfg.pretty_text
    return _TEXTS[key]


#: the version of :func:`training_sha`'s train keys that records store (``train_key_version``)
TRAIN_KEY_VERSION = 2


def training_sha(cfg, root=None, legacy_root=None):
    """The SHA-1 of ``cfg`` without its :data:`RUNTIME_KEYS`: what a run's record is reused
    for. With ``root``, the paths in that folder are written ``<root>/...`` in the config before
    its text is made, so the hash does not depend on where the repository is checked out (the
    configs name their teachers by absolute path, ``{{ fileDirname }}``): the ``train_key`` of
    a record.

    ``legacy_root``: the key as records without ``train_key_version`` hold it, made in a
    checkout at ``legacy_root``: the text was formatted with that checkout's paths and the
    folder replaced after, so the line wrapping, and the key, depended on the folder's length.
    """
    cfg = copy.deepcopy(cfg)
    for key in RUNTIME_KEYS:
        *path, last = key.split('.')
        node = cfg
        for part in path:
            node = node.get(part) if node is not None else None
        if node is not None and last in node:
            node.pop(last)
    if root is None:
        return hashlib.sha1(config_text(cfg).encode()).hexdigest()
    prefix = osp.join(osp.abspath(root), '')  # the folder, not a sibling /a/b2 of /a/b
    if legacy_root is None:
        text = config_text(Config(_with_prefix(cfg.to_dict(), prefix, '<root>/')))
    else:
        old = osp.join(legacy_root, '')
        text = config_text(Config(_with_prefix(cfg.to_dict(), prefix, old))).replace(
            old, '<root>/')
    return hashlib.sha1(text.encode()).hexdigest()


def same_training(record, sha, train_sha, train_key=None, legacy_key=None):
    """Whether a run record was measured with the config whose hashes are (``sha``,
    ``train_sha``, ``train_key``): by its checkout-independent training hash (``train_key``)
    when it has one. The older hashes (``train_sha``, the whole config's ``config_sha``) hold
    the absolute paths of the checkout the run was made in, so a record restored from the
    committed record (``restored_from``) without a ``train_key`` is taken as it is; any other
    record by its training hash, else by the whole config's (records made before the training
    hash); a record with none of them (restored from an older record) is taken as it is.

    A ``train_key`` without ``train_key_version`` is the earlier key, whose value depended on
    the length of the checkout's path: it is compared with ``legacy_key(root)``, ``root`` the
    record's ``legacy_root`` (the checkout it was made in, which ``benchmark_queue`` reads from
    the committed record) or this one."""
    if 'train_key' in record and train_key is not None:
        if record.get('train_key_version') == TRAIN_KEY_VERSION or legacy_key is None:
            return record['train_key'] == train_key
        return record['train_key'] == legacy_key(record.get('legacy_root', ROOT))
    if 'restored_from' in record:
        return True
    if 'train_sha' in record:
        return record['train_sha'] == train_sha
    return record.get('config_sha', sha) == sha


def run_metric(metrics, key=None):
    """The metric of one run: ``metric_of(metrics, key)``, or for a mutual-learning run (the
    ``<member>/<metric>`` keys of mmkd.MutualTestLoop, e.g. ``student2/coco/bbox_mAP``) the mean
    over its members. Each member is a student a user could deploy; taking the better one after
    the run would favour the distilled row by the spread between them."""
    names = [key] if key else ['coco/bbox_mAP', 'mIoU']
    for name in names:
        members = [value for k, value in metrics.items()
                   if k.endswith('/' + name) and '/' not in k[:-len(name) - 1]]
        if len(members) > 1:
            return statistics.mean(members)
    return metric_of(metrics, key)


def student_dir(out, student):
    """Where the benchmarks under ``out`` keep the rows of the student config ``student``."""
    return osp.join(out, 'students', osp.splitext(osp.basename(student))[0])


def read_record(path):
    """The run record at ``path``, or None when there is none or it is unreadable (a run
    stopped while its record was written is measured again)."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def write_json(path, obj):
    """Writes ``obj`` to ``path`` through a temporary file, so that a stop leaves either the
    old file or the new one."""
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def benchmark(student_cfg, distill_cfg, runs, max_factor=8, on_update=None, teacher=None,
              match_step=1):
    """The protocol (see the module docstring) on two loaded configs with ``runs`` (a Runs).
    Returns the summary dict ``results.json`` holds; ``on_update(summary)`` is called after every
    run with the summary so far. ``teacher``: the teacher's metric, for the table's first row."""
    kind, base = schedule_of(student_cfg)
    if schedule_of(distill_cfg) != (kind, base):
        raise ValueError(f'the student config trains {base} {kind} and the distill config '
                         f'{schedule_of(distill_cfg)[1]} {schedule_of(distill_cfg)[0]}: the '
                         'benchmark compares them on the same schedule, so give it a distill '
                         "config built on this student's schedule")
    unit = 'e' if kind == 'epochs' else 'i'
    summary = dict(kind=kind, base_units=base, seeds=runs.seeds, max_factor=max_factor,
                   match_step=match_step,
                   ladder=[], converged=None, distilled=None, matched=None,
                   teacher=teacher)

    def row_name(prefix, units):
        return f'{prefix}_{units}{unit}'

    def update(partial=None):
        """``partial``: the records of the row being measured, shown as its own row."""
        summary['running'] = row_summary(partial[0]['row'], partial[0]['units'], partial) \
            if partial and len(partial) < len(runs.seeds) else None
        if on_update is not None:
            on_update(summary)

    def row_summary(name, units, records, factor=None):
        values = [r['metric'] for r in records]
        mean, std = mean_std(values)
        minutes = [r['minutes'] for r in records]
        return dict(row=name, units=units, factor=factor, seeds=[r['seed'] for r in records],
                    values=values, mean=mean, std=std, minutes=minutes,
                    mean_minutes=statistics.mean(minutes))

    # 1. the baseline ladder
    factor = 1
    while True:
        units = base * factor
        name = row_name('student', units)
        records = runs.run_row(name, scale_schedule(copy.deepcopy(student_cfg), units), units,
                               update)
        summary['ladder'].append(row_summary(name, units, records, factor))
        index, stopped = converged_index([(r['factor'], r['values'])
                                          for r in summary['ladder']])
        summary['converged'] = dict(index=index, stopped=stopped,
                                    factor=summary['ladder'][index]['factor'],
                                    units=summary['ladder'][index]['units'])
        update()
        if stopped or factor * 2 > max_factor:
            break
        factor *= 2
    conv = summary['converged']

    # 2. the distilled student at the converged schedule
    units = conv['units']
    name = row_name('distilled', units)
    records = runs.run_row(name, scale_schedule(copy.deepcopy(distill_cfg), units), units, update,
                           extra=None if teacher is None else dict(teacher=teacher))
    summary['distilled'] = row_summary(name, units, records, conv['factor'])
    learned = {r['teacher'] for r in records if r.get('teacher') is not None}
    if teacher is not None and learned and learned != {teacher}:
        # runs distilled before the teacher was trained again: the table gives the teacher they
        # learned from, and the one the checkpoint holds now
        summary['teacher'], summary['teacher_now'] = statistics.mean(learned), teacher
        summary['teachers_learned'] = sorted(learned)
    update()

    # 3. the compute-matched baseline: the length the ladder's times give, then longer while
    # its runs take less than MATCH_TOLERANCE of the distilled runs' time (the fit misses, or
    # the machine ran faster than when the ladder was measured)
    base_row = summary['ladder'][conv['index']]
    dist = summary['distilled']
    dist_minutes = dist['mean_minutes']
    if dist['mean'] <= base_row['mean'] and base_row['mean_minutes'] <= dist_minutes:
        summary['matched'] = dict(base_row, dominated=True, tries=[],
                                  time_ratio=base_row['mean_minutes'] / dist_minutes)
        summary['gains'] = _gains(dist, base_row, summary['matched'])
        update()
        return summary
    fit = fit_time([(r['units'], m) for r in summary['ladder'] for m in r['minutes']])
    units, tries = matched_units(dist_minutes, fit, match_step), []
    while True:
        name = row_name('student', units)
        ladder_row = next((r for r in summary['ladder'] if r['units'] == units), None)
        if ladder_row is not None:
            matched = dict(ladder_row)
        else:
            records = runs.run_row(name, scale_schedule(copy.deepcopy(student_cfg), units),
                                   units, update)
            matched = row_summary(name, units, records)
        ratio = matched['mean_minutes'] / dist_minutes
        tries.append(dict(units=units, mean_minutes=matched['mean_minutes'], time_ratio=ratio))
        if ratio >= MATCH_TOLERANCE or len(tries) > MAX_TOP_UPS:
            break
        units = top_up_units(units, ratio, match_step)
    matched.update(fit_overhead=fit[0], fit_per_unit=fit[1], time_ratio=ratio, tries=tries)
    summary['matched'] = matched
    summary['gains'] = _gains(dist, base_row, matched)
    update()
    return summary


def _gains(dist, base_row, matched):
    """The distilled row's gain against the same-schedule and the compute-matched rows; a
    ``dominated`` matched row (not trained, see the module docstring) bounds its gain from
    above (``at_most``)."""
    gains = {which: dict(gain=dist['mean'] - ref['mean'], baseline_std=ref['std'],
                         beyond_2std=dist['mean'] - ref['mean'] > 2 * ref['std'])
             for which, ref in (('same_schedule', base_row), ('compute_matched', matched))}
    if matched.get('dominated'):
        gains['compute_matched']['at_most'] = True
    return gains


# -------------------------------------------------------------------------------- the table
def table(summary, digits=3):
    """The markdown table of a (possibly partial) summary."""
    teacher = summary.get('teacher')
    kind = summary['kind']
    seeds = summary['seeds']
    lines = [f'| row | {kind} | ' + ' | '.join(f'seed {s}' for s in seeds) +
             ' | mean | std | train min |', '|---' * (len(seeds) + 5) + '|']
    if teacher is not None:
        lines.append('| teacher | |' + ' |' * len(seeds) + f' {teacher:.{digits}f} | | |')
    conv = summary.get('converged') or {}

    def line(label, row):
        values = ' | '.join(f'{v:.{digits}f}' for v in row['values'])
        values += ' |' * (len(seeds) - len(row['values']))
        return (f'| {label} | {row["units"]} | {values} | {row["mean"]:.{digits}f} | '
                f'{row["std"]:.{digits}f} | {row["mean_minutes"]:.1f} |')

    for i, row in enumerate(summary['ladder']):
        note = ''
        if conv and i == conv['index']:
            note = ' (converged)' if conv['stopped'] else \
                ' (longest measured; not converged)'
        lines.append(line(f'student {row["factor"]}x{note}', row))
    if summary.get('distilled'):
        lines.append(line(f'distilled {summary["distilled"]["factor"]}x', summary['distilled']))
    if summary.get('matched') and not summary['matched'].get('dominated'):
        lines.append(line('student, compute-matched', summary['matched']))
    running = summary.get('running')
    if running:
        lines.append(line(f'{running["row"]} ({len(running["values"])} of {len(seeds)} seeds '
                          'so far)', running))
    out = '\n'.join(lines)
    if summary.get('gains'):
        words = dict(same_schedule='the same-schedule baseline',
                     compute_matched='the compute-matched baseline')
        out += '\n\n' + '\n'.join(
            f'- against {words[k]}: {"at most " if g.get("at_most") else ""}'
            f'{g["gain"]:+.{digits}f} '
            f'({"more" if g["beyond_2std"] else "not more"} than twice its std, '
            f'{2 * g["baseline_std"]:.{digits}f})' for k, g in summary['gains'].items())
        matched = summary['matched']
        if matched.get('dominated'):
            out += (f'\n- the compute-matched student was not trained: the converged student '
                    f'({matched["units"]} {kind}, {matched["mean_minutes"]:.1f} min) fits in the '
                    f'distilled runs\' time ({summary["distilled"]["mean_minutes"]:.1f} min) and '
                    'already scores at least as high as the distilled student')
        elif 'time_ratio' in matched:
            out += (f'\n- the compute-matched runs took {100 * matched["time_ratio"]:.0f}% of the '
                    'distilled runs\' mean time')
            earlier = matched['tries'][:-1]
            if earlier:
                out += ' (first tried: ' + ', '.join(
                    f'{t["units"]} at {100 * t["time_ratio"]:.0f}%' for t in earlier) + ')'
            if matched['time_ratio'] < MATCH_TOLERANCE:
                out += f', less than {100 * MATCH_TOLERANCE:.0f}% after {MAX_TOP_UPS} longer tries'
        if not conv.get('stopped'):
            out += (f'\n- the baseline gained at every doubling up to the cap '
                    f'({summary["max_factor"]}x): it may not have converged')
    if summary.get('teacher_now') is not None:
        out += ('\n' if summary.get('gains') else '\n\n') + (
            '- the distilled runs learned from a teacher at ' + ' and '.join(
                f'{t:.{digits}f}' for t in summary['teachers_learned']) +
            f'; the teacher checkpoint there now (trained again) scores '
            f'{summary["teacher_now"]:.{digits}f}')
    return out + '\n'


# ----------------------------------------------------------------------------- command line
def train_and_test(options=()):
    """The runner of real runs: tools/train.py then tools/test.py on the last checkpoint;
    returns (metrics, train minutes of the tools/train.py command)."""

    def runner(config, work_dir, seed):
        _, minutes = train(osp.basename(config)[:-3] + f' seed {seed}', config, work_dir,
                           [f'randomness.seed={seed}', *options])
        metrics = evaluate_run(f'seed {seed}', config, last_checkpoint(work_dir), work_dir)
        return metrics, minutes
    return runner


def evaluate_run(name, config, checkpoint, work_dir):
    """tools/test.py on a run's checkpoint; a mutual-learning run's students each (``--member``,
    in ``work_dir/<member>``), their metrics returned as ``<member>/<metric>``."""
    from mmengine.config import Config
    members = Config.fromfile(config).model.get('students')
    if not members:
        return evaluate(name, config, checkpoint, work_dir)
    metrics = {}
    for member in members:
        found = evaluate(f'{name} {member}', config, checkpoint, osp.join(work_dir, member),
                         ['--member', member])
        metrics.update({f'{member}/{key}': value for key, value in found.items()})
    return metrics


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('student', help='the student config (the baseline)')
    parser.add_argument('distill', help='the distill config of that student')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2])
    parser.add_argument('--max-factor', type=int, default=8,
                        help='the longest baseline schedule, as a multiple of the config\'s')
    parser.add_argument('--match-step', default='1',
                        help='round the compute-matched length up to a multiple of this many '
                        'epochs / iterations, or of 1/K of the schedule (1/8); default 1: the '
                        'nearest whole number')
    parser.add_argument('--work-dir')
    parser.add_argument('--baseline-dir',
                        help='where the student rows are kept (default: work_dirs/kd_benchmark/'
                        'students/<student config name>), shared by the benchmarks of every '
                        'distill config of that student')
    parser.add_argument('--teacher-checkpoint',
                        help="overrides the distill config's model.teacher.checkpoint")
    parser.add_argument('--metric', help='the metric key (default: coco/bbox_mAP or mIoU)')
    import warnings
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
    from mmengine.config import Config, DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='KEY=VALUE overrides applied to both configs')
    parser.add_argument('--distill-options', nargs='+', action=DictAction, default={},
                        help='KEY=VALUE overrides of the distill config only (a KD weight to '
                        'tune: model.kd_terms.NAME.loss.loss_weight=0.5); give each setting '
                        'its own --work-dir')
    args = parser.parse_args(argv)
    for path in (args.student, args.distill):
        if not osp.isfile(path):
            parser.error(f'config {path!r} does not exist')
    if len(args.seeds) < 3:
        print('[kd-benchmark] note: fewer than 3 seeds; the protocol publishes 3 or more')
    if args.max_factor < 1 or args.max_factor & (args.max_factor - 1):
        parser.error(f'--max-factor {args.max_factor}: give a power of two (1, 2, 4, 8 ...)')

    import mmkd  # noqa: F401  (the mmkd.* types in the configs)
    student_cfg = Config.fromfile(args.student)
    distill_cfg = Config.fromfile(args.distill)
    for cfg in (student_cfg, distill_cfg):
        cfg.merge_from_dict(args.cfg_options)
    distill_cfg.merge_from_dict(args.distill_options)
    from mmkd.apis import distiller_class
    from mmkd.models.distillers import MutualLearningDistiller
    distiller = distiller_class(distill_cfg)
    if distiller is None:
        parser.error(f'{args.distill} builds {distill_cfg.model.get("type")!r}, not an mmkd '
                     'distiller (a student with a teacher, or mutual learning\'s students): '
                     'give a distill config second')
    # mutual learning (mmkd.MutualLearningDistiller) trains its students together, no teacher
    mutual = issubclass(distiller, MutualLearningDistiller)
    if mutual and args.teacher_checkpoint:
        parser.error(f'{args.distill} trains its students together and has no teacher: '
                     'drop --teacher-checkpoint')
    if args.teacher_checkpoint:
        distill_cfg.model.teacher.checkpoint = osp.abspath(args.teacher_checkpoint)
    ckpt = None if mutual else distill_cfg.model.teacher.get('checkpoint')
    # the runs start in the repository's root: a config's relative path is read from there
    if not mutual and (not ckpt or
                       not osp.isfile(ckpt if osp.isabs(ckpt) else osp.join(ROOT, ckpt))):
        parser.error(f'the teacher checkpoint {ckpt!r} (model.teacher.checkpoint of '
                     f'{args.distill}) does not exist: train the teacher first (python '
                     f'tools/train.py {distill_cfg.model.teacher.get("config")} --work-dir DIR) '
                     'or give --teacher-checkpoint')
    work_dir = args.work_dir or osp.join(
        ROOT, 'work_dirs', 'kd_benchmark', osp.splitext(osp.basename(args.distill))[0])
    os.makedirs(work_dir, exist_ok=True)
    baseline_dir = args.baseline_dir or student_dir(
        osp.join(ROOT, 'work_dirs', 'kd_benchmark'), args.student)

    started = time.time()
    runs = Runs(work_dir, train_and_test(), args.seeds, args.metric, baseline_dir=baseline_dir)
    teacher = None if mutual else evaluate_teacher(distill_cfg, work_dir, args.metric)

    def eta(row):
        """(expected minutes of a run of ``row``, minutes of the rows planned so far)."""
        done = list(runs.records.values())
        student = [(r['units'], r['minutes']) for r in done if r['row'].startswith('student')]
        if not student:
            return None
        fit = fit_time(student)
        units = int(row.rsplit('_', 1)[1][:-1])
        expected = fit[0] + fit[1] * units
        dist = [r for r in done if r['row'].startswith('distilled')]
        if row.startswith('distilled'):
            expected = statistics.mean(r['minutes'] for r in dist) if dist else 2 * expected
        left = sum(1 for s in runs.seeds if (row, s) not in runs.records)
        return expected, expected * left

    runs.eta = eta

    def write(summary):
        out = dict(summary, student_config=osp.abspath(args.student),
                   distill_config=osp.abspath(args.distill),
                   torch_threads=_threads(), host=os.uname().nodename)
        write_json(osp.join(work_dir, 'results.json'), out)
        with open(osp.join(work_dir, 'table.md'), 'w') as f:
            f.write(table(summary, digits=_digits(summary)))

    try:
        match_step = parse_step(args.match_step, schedule_of(student_cfg)[1])
    except ValueError as e:
        parser.error(str(e))
    summary = benchmark(student_cfg, distill_cfg, runs, args.max_factor, on_update=write,
                        teacher=teacher, match_step=match_step)
    write(summary)
    print('\n' + table(summary, digits=_digits(summary)))
    print(f'[kd-benchmark] {runs.trained} runs trained in {(time.time() - started) / 60:.1f} '
          f'min; table in {osp.relpath(osp.join(work_dir, "table.md"), ROOT)}')


def evaluate_teacher(distill_cfg, work_dir, metric=None):
    """The teacher's metric with tools/test.py on its own config, evaluated once per checkpoint
    (kept in ``WORK_DIR/teacher/teacher.json``)."""
    teacher = distill_cfg.model.teacher
    ckpt, config = teacher.get('checkpoint'), teacher.get('config')
    out = osp.join(work_dir, 'teacher')
    saved = read_record(osp.join(out, 'teacher.json'))
    if saved is None or saved.get('checkpoint') != ckpt:
        os.makedirs(out, exist_ok=True)
        metrics = evaluate('teacher', config if osp.isabs(config) else osp.join(ROOT, config),
                           ckpt, out)
        saved = dict(checkpoint=ckpt, config=config, metrics=metrics)
        write_json(osp.join(out, 'teacher.json'), saved)
    return metric_of(saved['metrics'], metric)


def _digits(summary):
    values = [v for r in summary['ladder'] for v in r['values']]
    return 2 if values and max(values) > 1.5 else 3  # mIoU in percent, mAP as a fraction


def _threads():
    import torch
    return torch.get_num_threads()


if __name__ == '__main__':
    main()
