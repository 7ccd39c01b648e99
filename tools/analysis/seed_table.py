"""Train configs with several seeds on the demo data and print their metric as a table.

    python tools/analysis/seed_table.py CONFIG [CONFIG ...] [--seeds 0 1]
        [--work-dir work_dirs/seeds] [--teacher-checkpoint PATH] [--metric KEY]

Each (config, seed) is trained with ``tools/train.py`` (``randomness.seed=<seed>``) into
``WORK_DIR/<config name>/seed<seed>`` and evaluated with ``tools/test.py``. A run whose
``test_metrics.json`` exists is not repeated, so the tool can be stopped and started again. The
table (per-seed metric: bbox mAP for detection, mIoU for segmentation, or ``--metric``; their
mean, and the mean's difference to the first config) is printed and written to
``WORK_DIR/table.md``. The configs' READMEs quote its figures.
"""
import argparse
import glob
import json
import os.path as osp
import statistics
import sys

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

from tools.demo import evaluate, train  # noqa: E402


def last_checkpoint(work_dir):
    """The last ``epoch_<k>.pth`` or ``iter_<k>.pth`` a run wrote."""
    ckpts = glob.glob(osp.join(work_dir, 'epoch_*.pth')) + \
        glob.glob(osp.join(work_dir, 'iter_*.pth'))
    return max(ckpts, key=lambda p: int(osp.basename(p)[:-4].split('_')[1]))


def metric_of(metrics, key=None):
    """``metrics[key]``, or by default COCO bbox mAP (detection) or mIoU (segmentation)."""
    for name in ([key] if key else ['coco/bbox_mAP', 'mIoU']):
        if name in metrics:
            return metrics[name]
    raise KeyError(f'no metric {key or "coco/bbox_mAP or mIoU"} among {sorted(metrics)}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('configs', nargs='+', help='the first is the baseline')
    parser.add_argument('--seeds', nargs='+', type=int, default=[0, 1])
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'seeds'))
    parser.add_argument('--teacher-checkpoint',
                        help="overrides the distill configs' model.teacher.checkpoint")
    parser.add_argument('--metric', help='the metric key (default: coco/bbox_mAP or mIoU)')
    args = parser.parse_args(argv)
    for config in args.configs:
        if not osp.isfile(config):
            parser.error(f'config {config!r} does not exist')

    results = {}
    for config in args.configs:
        name = osp.splitext(osp.basename(config))[0]
        for seed in args.seeds:
            work_dir = osp.join(args.work_dir, name, f'seed{seed}')
            metrics_file = osp.join(work_dir, 'test_metrics.json')
            if osp.isfile(metrics_file):
                with open(metrics_file) as f:
                    results[name, seed] = metric_of(json.load(f), args.metric)
                print(f'[seeds] {name} seed {seed}: {results[name, seed]:.3f} (measured before)')
                continue
            options = [f'randomness.seed={seed}']
            if args.teacher_checkpoint and 'kd_terms' in open(config).read():
                options.append(f'model.teacher.checkpoint={args.teacher_checkpoint}')
            train(f'{name} seed {seed}', config, work_dir, options)
            metrics = evaluate(f'{name} seed {seed}', config, last_checkpoint(work_dir), work_dir)
            results[name, seed] = metric_of(metrics, args.metric)

    names = [osp.splitext(osp.basename(c))[0] for c in args.configs]
    lines = ['| config | ' + ' | '.join(f'seed {s}' for s in args.seeds) + ' | mean | vs first |',
             '|---' * (len(args.seeds) + 3) + '|']
    base = statistics.mean(results[names[0], s] for s in args.seeds)
    for name in names:
        values = [results[name, s] for s in args.seeds]
        mean = statistics.mean(values)
        lines.append(f'| {name} | ' + ' | '.join(f'{v:.3f}' for v in values) +
                     f' | {mean:.3f} | {mean - base:+.3f} |')
    table = '\n'.join(lines)
    with open(osp.join(args.work_dir, 'table.md'), 'w') as f:
        f.write(table + '\n')
    print('\n' + table)


if __name__ == '__main__':
    main()
