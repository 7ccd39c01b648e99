"""Plot a training run's task losses, KD terms, KD weights and validation metric in one PNG.

    python tools/analysis/plot_logs.py WORK_DIR [--out PNG] [--metric KEY]

Reads the JSON logs MMEngine writes for every run into ``WORK_DIR/<timestamp>/vis_data/``
(``scalars.json``, or ``<timestamp>.json`` when only that one is there; one object per line:
train lines carry ``iter`` and the losses, val lines the metrics, both a ``step``). A work dir
that holds several runs (a resumed run, or a new run started in the same dir) is read in time
order, and each later run replaces what the earlier ones logged from its first step on.

Four panels, against iterations unless said otherwise:

- task losses: the total ``loss`` and the detector's / segmentor's own ``loss_*`` terms
  (``loss_cls``, ``loss_bbox``, ``decode.loss_ce``, ``aux.loss_ce``, ...);
- KD terms: every ``loss_kd_<term>`` (``<member>.loss_kd_<term>`` in mutual learning), and an
  adversarial run's ``loss_disc`` and ``disc_*``;
- KD weights: every ``kd_weight_<term>`` (logged by ``mmkd.KDWeightScheduleHook``);
- the student's validation metric over epochs (iterations for iteration-based runs):
  ``coco/bbox_mAP`` or else ``mIoU``, or ``--metric KEY``; the teacher's, when the logs hold
  ``teacher/<KEY>``, as a horizontal line.

The PNG goes to ``WORK_DIR/plot_logs.png`` unless ``--out``; its path is printed.
"""
import argparse
import glob
import json
import os.path as osp

DEFAULT_METRICS = ('coco/bbox_mAP', 'mIoU')
# Keys of the val lines that are not metrics.
NOT_METRICS = {'step', 'time', 'data_time'}


def log_files(work_dir):
    """The JSON scalar logs of the runs in ``work_dir``, oldest first (timestamp order)."""
    files = []
    for vis_data in sorted(glob.glob(osp.join(glob.escape(work_dir), '*', 'vis_data'))):
        stamp = osp.basename(osp.dirname(vis_data))
        for name in ('scalars.json', f'{stamp}.json'):
            if osp.isfile(osp.join(vis_data, name)):
                files.append(osp.join(vis_data, name))
                break
    return files


def _runs(files):
    """The runs logged in ``files``, oldest first, each as its train and val lines
    ({step: line}). A file starts a run, and so does a train line whose step is not past the
    previous one's: a second run in the same process appends to the first one's file (mmdet's and
    mmseg's configs name their visualizer, and MMEngine keeps one instance per name)."""
    train, val, last = {}, {}, None
    for path in files:
        if train or val:
            yield train, val
            train, val = {}, {}
        with open(path) as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as e:
                    raise SystemExit(f'{path}, line {number}: not JSON ({e})') from None
                if 'step' not in record:
                    raise SystemExit(f'{path}, line {number}: no "step"; not a scalar log of '
                                     f'MMEngine\'s LocalVisBackend')
                step = record['step']
                # MMEngine puts `iter` in train lines only; val lines have `step` alone.
                if 'iter' in record:
                    if train and step <= last:
                        yield train, val
                        train, val = {}, {}
                    train[step] = record
                    last = step
                else:
                    val.setdefault(step, {}).update(record)
    if train or val:
        yield train, val


def read_logs(work_dir):
    """The scalar series of the runs in ``work_dir``.

    Returns:
        dict: ``train`` and ``val``: {key: (steps, values)}, steps ascending (iterations for
        ``train``; epochs or iterations for ``val``); ``val_axis``: ``'epoch'`` or
        ``'iteration'``; ``files``: the logs read, oldest first.
    """
    if not osp.isdir(work_dir):
        raise SystemExit(f'{work_dir}: no such directory; expected the --work-dir of a '
                         f'tools/train.py run')
    files = log_files(work_dir)
    if not files:
        raise SystemExit(
            f'{work_dir}: no training logs; expected WORK_DIR/<timestamp>/vis_data/scalars.json '
            f'(written by MMEngine\'s LocalVisBackend when tools/train.py runs with --work-dir '
            f'{work_dir})')
    train, val = {}, {}
    for run_train, run_val in _runs(files):
        # A later run replaces the earlier ones from its first step on: a resumed run logs again
        # from its checkpoint, a new run in the same dir from the start.
        for merged, run in ((train, run_train), (val, run_val)):
            if run:
                first = min(run)
                for step in [s for s in merged if s >= first]:
                    del merged[step]
                merged.update(run)
    last_epoch = max((r['epoch'] for r in train.values() if 'epoch' in r), default=None)
    # Epoch-based runs log val metrics at step = epoch (LoggerHook's log_metric_by_epoch).
    by_epoch = last_epoch is not None and all(step <= last_epoch for step in val)
    return dict(train=_series(train, {'step', 'iter', 'epoch'}), val=_series(val, {'step'}),
                val_axis='epoch' if by_epoch else 'iteration', files=files)


def _series(lines, skip):
    """{step: line} -> {key: (steps, values)}, steps ascending."""
    series = {}
    for step in sorted(lines):
        for key, value in lines[step].items():
            if key not in skip and isinstance(value, (int, float)):
                steps, values = series.setdefault(key, ([], []))
                steps.append(step)
                values.append(value)
    return series


def task_loss_keys(train):
    """``loss`` first, then the model's own loss terms (``loss_*`` or ``<head>.loss_*`` keys
    that are not KD or discriminator terms)."""
    own = [k for k in train if k.split('.')[-1].startswith('loss_') and k not in kd_keys(train)]
    return (['loss'] if 'loss' in train else []) + sorted(own)


def kd_keys(train):
    return sorted(k for k in train
                  if k.split('.')[-1].startswith('loss_kd_') or k == 'loss_disc'
                  or k.startswith('disc_'))


def weight_keys(train):
    return sorted(k for k in train if k.startswith('kd_weight_'))


def pick_metric(series, metric=None):
    """The val metric to plot: ``metric``, or the first of DEFAULT_METRICS logged, or None."""
    metrics = sorted(k for k in series['val']
                     if k not in NOT_METRICS and not k.startswith('teacher/'))
    if metric is None:
        return next((m for m in DEFAULT_METRICS if m in metrics), None)
    if metric not in metrics:
        files = ', '.join(series['files'])
        there = f'the metrics there are {metrics}' if metrics else 'they have no validation lines'
        raise SystemExit(f'--metric {metric!r} is not in the logs ({files}); {there}')
    return metric


def figure(series, metric, title=''):
    """The 2 x 2 panels as a matplotlib figure (Agg), 1200 x 800 pixels at dpi 100."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    train = series['train']
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), dpi=100)
    fig.suptitle(title)
    panels = ((axes[0, 0], 'task losses', task_loss_keys(train), 'no loss logged'),
              (axes[0, 1], 'KD terms', kd_keys(train), 'no loss_kd_* logged'),
              (axes[1, 0], 'KD weights', weight_keys(train), 'no kd_weight_* logged'))
    for ax, name, keys, empty in panels:
        ax.set_title(name)
        ax.set_xlabel('iteration')
        for key in keys:
            ax.plot(*train[key], label=key)
        if keys:
            ax.legend(fontsize='small')
        else:
            _say(ax, empty)

    ax = axes[1, 1]
    ax.set_xlabel(series['val_axis'])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if metric is None:
        ax.set_title('validation')
        others = sorted(k for k in series['val'] if k not in NOT_METRICS)
        _say(ax, f'no {" or ".join(DEFAULT_METRICS)} logged' +
             (f';\n--metric one of {others}' if others else ''))
    else:
        ax.set_title(f'validation {metric}')
        ax.plot(*series['val'][metric], marker='o', label='student')
        teacher = series['val'].get(f'teacher/{metric}')
        if teacher:
            value = teacher[1][-1]
            ax.axhline(value, color='black', linestyle='--', label=f'teacher {value:.4g}')
        ax.legend(fontsize='small')
    fig.tight_layout()
    return fig


def _say(ax, text):
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, text, ha='center', va='center', transform=ax.transAxes, color='grey')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('work_dir', help='the --work-dir of a tools/train.py run')
    parser.add_argument('--out', help='the PNG to write (default WORK_DIR/plot_logs.png)')
    parser.add_argument('--metric', help='val metric key (default: coco/bbox_mAP or mIoU)')
    args = parser.parse_args(argv)
    series = read_logs(args.work_dir)
    metric = pick_metric(series, args.metric)
    out = args.out or osp.join(args.work_dir, 'plot_logs.png')
    fig = figure(series, metric, title=args.work_dir)
    fig.savefig(out, dpi=100)
    import matplotlib.pyplot as plt
    plt.close(fig)
    print(out)
    return out


if __name__ == '__main__':
    main()
