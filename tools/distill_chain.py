"""Distillation chains: born-again networks and teacher-assistant KD. Each generation is trained,
evaluated and exported, and the next one learns from the exported student.

    python tools/distill_chain.py CHAIN_CONFIG [--work-dir DIR] [--seed N] [--metric KEY]
        [--stop-after K]

A chain config is an MMEngine config with a list of generations::

    generations = [
        dict(name='gen0', config='configs/demo/retinanet_r18-narrow_fpn_12e_mmkd-demo.py'),
        dict(name='gen1', config='{{ fileDirname }}/ban-hint-poskd_..._mmkd-demo.py'),
    ]
    work_dir = 'work_dirs/chains/ban'   # optional; --work-dir overrides it

- ``config``: an mmdet / mmseg config or an mmkd distill config. A relative path is relative to
  the repo root (where every run starts, like ``model.teacher.checkpoint``); MMEngine replaces
  ``{{ fileDirname }}`` with the chain config's folder.
- ``name``: the generation's folder in the work dir; defaults to ``gen<index>``.
- ``teacher``: ``'previous'`` (the default after the first generation) fills the distill
  config's ``model.teacher.config`` / ``model.teacher.checkpoint`` with the previous
  generation's exported student; the name of an earlier generation takes that one's; ``None``
  (the default of the first generation) keeps the config's own teacher, or trains a plain config
  alone.

Generation ``<name>`` trains with ``tools/train.py`` (``randomness.seed=<seed>``) into
``WORK_DIR/<name>/``, is evaluated with ``tools/test.py`` (``test_metrics.json``) and exported
with ``tools/export_student.py`` (``export/student.pth``, ``export/student_config.py``), from its
``best_*.pth`` when the run saved one, else its last checkpoint. A generation with metrics and an
export is not run again; one with a ``last_checkpoint`` but no metrics is resumed. The table
(metric of each generation and its difference to the first) is printed and written to
``WORK_DIR/chain.md`` and ``WORK_DIR/chain.json``. ``docs/born_again.md`` and
``docs/teacher_assistant.md`` describe the two methods.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Optional

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, ROOT)

from tools.analysis.seed_table import metric_of  # noqa: E402
from tools.demo import progress, run  # noqa: E402

GENERATION_KEYS = ('name', 'config', 'teacher')
DEFAULT_METRICS = ('coco/bbox_mAP', 'mIoU')


@dataclass
class Generation:
    name: str
    config: str                 # absolute path
    source: Optional[int]       # index of the generation it learns from, None: its own teacher
    distill: bool               # model.type is an mmkd distiller
    own_teacher: Optional[str]  # the distill config's own model.teacher.config, when source is
    own_checkpoint: Optional[str]  # None, and its checkpoint


def resolve(path):
    return path if osp.isabs(path) else osp.join(ROOT, path)


def load_chain(path):
    """Reads and checks a chain config.

    Returns:
        tuple[list[Generation], str | None]: the generations and the config's ``work_dir``.
    """
    # mmengine imports pkg_resources, which setuptools < 81 (pinned for mmcv) warns about.
    warnings.filterwarnings('ignore', message='pkg_resources is deprecated')
    from mmengine.config import Config

    from mmkd.apis import distiller_class
    if not osp.isfile(path):
        raise FileNotFoundError(f'chain config {path!r} does not exist')
    cfg = Config.fromfile(path)
    gens = cfg.get('generations')
    if gens is None:
        raise ValueError(f"chain config {path!r} has no `generations`: add generations = "
                         "[dict(name='gen0', config='...'), dict(name='gen1', config='...')]")
    if not isinstance(gens, (list, tuple)) or not gens:
        raise ValueError(f'`generations` of {path!r} must be a non-empty list of dicts, '
                         f'got {gens!r}')
    out, index = [], {}
    for i, gen in enumerate(gens):
        where = f'generations[{i}]'
        if not isinstance(gen, dict):
            raise ValueError(f"{where} must be a dict(name=..., config=..., teacher=...), "
                             f"got {gen!r}")
        unknown = sorted(set(gen) - set(GENERATION_KEYS))
        if unknown:
            raise ValueError(f'{where} has unknown keys {unknown}; a generation takes '
                             f'{", ".join(GENERATION_KEYS)}')
        name = gen.get('name', f'gen{i}')
        if not isinstance(name, str) or not name or '/' in name or name in ('.', '..'):
            raise ValueError(f'{where}.name must be a folder name, got {name!r}')
        where = f'{where} ({name!r})'
        if name in index:
            raise ValueError(f'{where}: generations[{index[name]}] has the same name; every '
                             'generation needs its own name (its folder in the work dir)')
        if 'config' not in gen:
            raise ValueError(f"{where} has no `config`: set config='path/to/config.py' (relative "
                             "to the repo root, or '{{ fileDirname }}/...' for the chain "
                             "config's folder)")
        config = resolve(gen['config'])
        if not osp.isfile(config):
            raise ValueError(f'{where}.config: {gen["config"]!r} does not exist (looked for '
                             f"{config!r}; relative paths are relative to the repo root, "
                             "'{{ fileDirname }}/...' is the chain config's folder)")
        teacher = gen.get('teacher', 'previous' if i else None)
        if teacher is None:
            source = None
        elif teacher == 'previous':
            if i == 0:
                raise ValueError(f"{where}: teacher='previous', but the first generation has no "
                                 "previous one; use teacher=None (plain config or the distill "
                                 "config's own teacher)")
            source = i - 1
        elif isinstance(teacher, str) and teacher in index:
            source = index[teacher]
        else:
            raise ValueError(f"{where}.teacher must be 'previous', the name of an earlier "
                             f'generation ({sorted(index) or "none yet"}) or None, got '
                             f'{teacher!r}')
        model_cfg = Config.fromfile(config)
        distill = distiller_class(model_cfg) is not None
        if source is not None and not distill:
            raise ValueError(
                f'{where}: teacher={teacher!r} needs a distill config (model.type an mmkd '
                f'distiller) whose model.teacher the chain fills, but {gen["config"]!r} builds '
                f'{model_cfg.model.get("type")!r}; use a distill config, or teacher=None to '
                'train this config alone')
        own_teacher = own_checkpoint = None
        if source is None and distill:
            own = model_cfg.model.teacher
            own_checkpoint = own.get('checkpoint')
            if own_checkpoint is None:
                raise ValueError(f"{where}: teacher=None keeps the config's own teacher, but "
                                 f'model.teacher.checkpoint of {gen["config"]!r} is not set; '
                                 "set it in the config, or use teacher='previous'")
            spec = own.get('config')
            own_teacher = spec if isinstance(spec, str) else 'an inline model dict'
        index[name] = i
        out.append(Generation(name, config, source, distill, own_teacher, own_checkpoint))
    return out, cfg.get('work_dir')


def handed_checkpoint(work_dir):
    """The checkpoint a generation hands on: its ``best_*.pth`` (the newest, when a run saved
    several), else the one ``last_checkpoint`` names, else its highest ``epoch_<k>`` /
    ``iter_<k>``."""
    best = glob.glob(osp.join(work_dir, 'best_*.pth'))
    if best:
        return max(best, key=osp.getmtime)
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        for path in (resolve(named), osp.join(work_dir, osp.basename(named))):
            if osp.isfile(path):
                return path
    ckpts = glob.glob(osp.join(work_dir, 'epoch_*.pth')) + \
        glob.glob(osp.join(work_dir, 'iter_*.pth'))
    if not ckpts:
        raise FileNotFoundError(f'{work_dir} holds no checkpoint (best_*.pth, last_checkpoint, '
                                'epoch_*.pth or iter_*.pth)')
    return max(ckpts, key=lambda p: int(osp.basename(p)[:-4].split('_')[1]))


def exported(gen_dir):
    """``(student_config.py, student.pth)`` of a generation's export."""
    export = osp.join(gen_dir, 'export')
    return osp.join(export, 'student_config.py'), osp.join(export, 'student.pth')


def check_record(tag, gen_dir, record):
    """Refuses to continue a generation folder that holds another seed's, config's or teacher's
    run (a second seed into the first seed's work dir would otherwise be 'measured before')."""
    path = osp.join(gen_dir, 'generation.json')
    if osp.isfile(path):
        with open(path) as f:
            before = json.load(f)
        differ = [f'{key} {before.get(key)!r} there, {value!r} here'
                  for key, value in record.items() if before.get(key) != value]
        if differ:
            raise SystemExit(f'{tag}: {gen_dir} holds another run ({"; ".join(differ)}); pass '
                             'another --work-dir or delete that folder')
    else:
        with open(path, 'w') as f:
            json.dump(record, f, indent=1)


def run_generation(tag, gen, gen_dir, options):
    """Trains (or resumes), evaluates and exports one generation, each step only when its
    output is missing. Returns its metrics and the checkpoint it handed on."""
    metrics_file = osp.join(gen_dir, 'test_metrics.json')
    if not osp.isfile(metrics_file):
        resume = osp.isfile(osp.join(gen_dir, 'last_checkpoint'))
        print(f'{tag}: {"resuming" if resume else "training"} {osp.basename(gen.config)} '
              '(mmengine prints its own ETA)', flush=True)
        start = time.time()
        cmd = [sys.executable, 'tools/train.py', gen.config, '--work-dir', gen_dir]
        cmd += ['--resume'] if resume else []
        run(cmd + ['--cfg-options', *options],
            osp.join(gen_dir, 'chain_train_resumed.log' if resume else 'chain_train.log'),
            show=progress)
        print(f'{tag}: trained in {(time.time() - start) / 60:.1f} min', flush=True)
    ckpt = handed_checkpoint(gen_dir)
    if not osp.isfile(metrics_file):
        print(f'{tag}: evaluating {osp.basename(ckpt)} with tools/test.py', flush=True)
        run([sys.executable, 'tools/test.py', gen.config, ckpt, '--work-dir',
             osp.join(gen_dir, 'test'), '--metrics-json', metrics_file, '--cfg-options',
             *options], osp.join(gen_dir, 'chain_test.log'), show=lambda line: None)
    if not all(osp.isfile(p) for p in exported(gen_dir)):
        print(f'{tag}: exporting the student to {osp.join(gen_dir, "export")}', flush=True)
        run([sys.executable, 'tools/export_student.py', gen.config, ckpt,
             osp.join(gen_dir, 'export')], osp.join(gen_dir, 'chain_export.log'),
            show=lambda line: None)
    with open(metrics_file) as f:
        return json.load(f), ckpt


def teacher_of(gen, gens, work_dir):
    """What ``gen`` learns from: the name of that generation (None for the config's own teacher
    or none), the teacher's config and checkpoint, and how the table names it."""
    if gen.source is not None:
        name = gens[gen.source].name
        return (name, *exported(osp.join(work_dir, name)), name)
    if not gen.distill:
        return None, None, None, 'none (trained alone)'
    label = gen.own_teacher
    if label.endswith('.py'):
        label = osp.splitext(osp.basename(label))[0]
    return None, gen.own_teacher, gen.own_checkpoint, f"{label} (the config's)"


def metric_name(metrics, key):
    return key or next((k for k in DEFAULT_METRICS if k in metrics), DEFAULT_METRICS[0])


def report(rows, work_dir, chain_path, seed, key):
    """Writes ``chain.md`` and ``chain.json``; returns the table."""
    first = rows[0]['metric']
    lines = [f'| generation | config | teacher | {key} | vs {rows[0]["name"]} |',
             '|---|---|---|---|---|']
    for row in rows:
        row['vs_first'] = row['metric'] - first
        lines.append(f'| {row["name"]} | {osp.splitext(osp.basename(row["config"]))[0]} | '
                     f'{row["teacher_name"]} | {row["metric"]:.3f} | {row["vs_first"]:+.3f} |')
    table = '\n'.join(lines)
    with open(osp.join(work_dir, 'chain.md'), 'w') as f:
        f.write(table + '\n')
    with open(osp.join(work_dir, 'chain.json'), 'w') as f:
        json.dump(dict(chain=chain_path, seed=seed, metric=key, generations=rows), f, indent=1)
    return table


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('chain', help='the chain config (a list of generations)')
    parser.add_argument('--work-dir', help="default: the chain config's work_dir, else "
                        'work_dirs/chains/<chain config name>')
    parser.add_argument('--seed', type=int, default=0, help='randomness.seed of every generation')
    parser.add_argument('--metric', help='the metric key (default: coco/bbox_mAP or mIoU)')
    parser.add_argument('--stop-after', type=int, metavar='K',
                        help='stop once the first K generations are done')
    args = parser.parse_args(argv)
    if args.stop_after is not None and args.stop_after < 1:
        parser.error('--stop-after needs K >= 1')
    chain_path = osp.abspath(args.chain)
    try:
        gens, cfg_work_dir = load_chain(chain_path)
    except (ValueError, FileNotFoundError) as err:
        parser.error(str(err))
    chain_name = osp.splitext(osp.basename(chain_path))[0]
    work_dir = osp.abspath(args.work_dir) if args.work_dir else \
        resolve(cfg_work_dir or osp.join('work_dirs', 'chains', chain_name))
    todo = gens[:args.stop_after]
    for gen in todo:
        ckpt = gen.own_checkpoint
        done = osp.isfile(osp.join(work_dir, gen.name, 'test_metrics.json'))
        if ckpt is not None and '://' not in ckpt and not done and not osp.isfile(resolve(ckpt)):
            raise SystemExit(f'[chain] {gen.name}: model.teacher.checkpoint {ckpt!r} of '
                             f'{gen.config} does not exist; train that teacher first (the demo '
                             "teacher: python tools/demo.py) or set the config's checkpoint")

    started = time.time()
    rows = []
    for i, gen in enumerate(todo):
        tag = f'[chain] {gen.name} ({i + 1}/{len(gens)})'
        gen_dir = osp.join(work_dir, gen.name)
        teacher, t_config, t_ckpt, label = teacher_of(gen, gens, work_dir)
        options = [f'randomness.seed={args.seed}']
        if teacher is not None:
            options += [f'model.teacher.config={t_config}', f'model.teacher.checkpoint={t_ckpt}']
        done = osp.isfile(osp.join(gen_dir, 'test_metrics.json')) and \
            all(osp.isfile(p) for p in exported(gen_dir))
        os.makedirs(gen_dir, exist_ok=True)
        check_record(tag, gen_dir, dict(config=osp.basename(gen.config), seed=args.seed,
                                        teacher=teacher))
        if done:
            with open(osp.join(gen_dir, 'test_metrics.json')) as f:
                metrics = json.load(f)
            ckpt = handed_checkpoint(gen_dir)
        else:
            print(f'{tag}: teacher: {label}' + (f' ({t_ckpt})' if t_ckpt else ''), flush=True)
            metrics, ckpt = run_generation(tag, gen, gen_dir, options)
        try:
            value = metric_of(metrics, args.metric)
        except KeyError as err:
            raise SystemExit(f'{tag}: --metric: {err.args[0]}') from None
        print(f'{tag}: {metric_name(metrics, args.metric)} {value:.3f}' +
              (' (measured before)' if done else ''), flush=True)
        rows.append(dict(name=gen.name, config=gen.config, teacher=teacher, teacher_name=label,
                         teacher_config=t_config, teacher_checkpoint=t_ckpt, checkpoint=ckpt,
                         export=osp.join(gen_dir, 'export'), metric=value, metrics=metrics))

    table = report(rows, work_dir, chain_path, args.seed,
                   metric_name(rows[0]['metrics'], args.metric))
    print('\n' + table + '\n')
    if len(todo) < len(gens):
        print(f'[chain] stopped after {len(todo)} of {len(gens)} generations (--stop-after); '
              'run again without it to continue', flush=True)
    print(f'[chain] done in {(time.time() - started) / 60:.1f} min; table in '
          f'{osp.join(work_dir, "chain.md")}', flush=True)
    return rows


if __name__ == '__main__':
    main()
