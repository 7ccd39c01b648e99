"""Time a distill config's training step against its limit.

    python tools/analysis/benchmark.py CONFIG [--iters 20] [--warmup 3] [--batch-size 2]

In one process, on the same batches of the config's train dataloader, it times

- the student's own train step (its mmdet loss, backward, SGD step),
- the teacher's no-grad forward, as deep as the config's KD terms need it,
- the distill train step (student step + teacher + KD terms, backward, SGD step),
- (once, first) every loss of the distill step on the first batch, to compare the KD terms'
  magnitudes with the task losses,

interleaved iteration by iteration (a progress line with an ETA every few seconds, unless
``--no-progress``), and prints the medians, the ratio
``distill / (student + teacher forward)`` and the process's peak memory after each part.
The config's teacher checkpoint must exist (train the teacher first) unless ``--random-teacher``.
"""
import argparse
import os.path as osp
import resource
import statistics
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmkd  # noqa: E402,F401
from mmkd.registry import MODELS  # noqa: E402
from tools.progress import Progress  # noqa: E402


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--batch-size', type=int, default=2)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--random-teacher', action='store_true',
                        help='save the teacher\'s random weights to a temporary checkpoint '
                        'instead of loading model.teacher.checkpoint (speed only)')
    parser.add_argument('--only', nargs='+', metavar='TERM',
                        help='keep only these KD terms (e.g. the neck-level ones)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress lines while timing')
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.only:
        unknown = set(args.only) - set(cfg.model.kd_terms)
        if unknown:
            parser.error(f'--only names {sorted(unknown)}; the config\'s terms are '
                         f'{sorted(cfg.model.kd_terms)}')
        cfg.model.kd_terms = {k: v for k, v in cfg.model.kd_terms.items() if k in args.only}
    if args.random_teacher:
        import tempfile

        from mmkd.models.distillers.base import build_model, model_config
        teacher_cfg, scope = model_config(cfg.model.teacher.config, 'teacher', 'mmdet')
        path = osp.join(tempfile.mkdtemp(), 'teacher.pth')
        torch.save(build_model(teacher_cfg, scope).state_dict(), path)
        cfg.model.teacher.checkpoint = path
    cfg.train_dataloader.batch_size = args.batch_size
    scope = cfg.get('default_scope', 'mmdet')
    with DefaultScope.overwrite_default_scope(scope):
        loader = Runner.build_dataloader(cfg.train_dataloader)
    distiller = MODELS.build(cfg.model)
    distiller.init_weights()  # as the runner does (the heads' prior-probability biases)
    distiller.train()
    student = distiller.student
    s_opt = torch.optim.SGD(student.parameters(), lr=1e-5)
    d_opt = torch.optim.SGD([p for p in distiller.parameters() if p.requires_grad], lr=1e-5)

    batches = []
    for data in loader:
        batches.append(distiller.data_preprocessor(data, True))
        if len(batches) == args.iters + args.warmup:
            break
    print(f'[benchmark] {len(batches)} batches of {tuple(batches[0]["inputs"].shape)}, '
          f'{args.threads} threads')

    with torch.no_grad():
        first = distiller.loss(batches[0]['inputs'], batches[0]['data_samples'])
    print('[benchmark] losses on the first batch: ' + ', '.join(
        f'{k} {float(sum(v) if isinstance(v, list) else v):.4g}' for k, v in first.items()))

    def student_step(batch):
        s_opt.zero_grad()
        distiller.parse_losses(student.loss(batch['inputs'], batch['data_samples']))[0].backward()
        s_opt.step()

    def teacher_forward(batch):
        distiller.teacher_knowledge(batch['inputs'])

    def distill_step(batch):
        d_opt.zero_grad()
        distiller.parse_losses(distiller.loss(batch['inputs'], batch['data_samples']))[0].backward()
        d_opt.step()

    times = {'student step': [], 'teacher forward': [], 'distill step': []}
    peaks = {}
    progress = Progress(len(batches), '[benchmark] iterations', enabled=not args.no_progress)
    for i, batch in enumerate(batches):
        for name, fn in zip(times, (student_step, teacher_forward, distill_step)):
            seconds = timed(lambda: fn(batch))
            if i >= args.warmup:
                times[name].append(seconds)
            peaks[name] = peak_rss_mib()
        progress.update(note=' (warm-up)' if i < args.warmup else '')
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, value in med.items():
        print(f'[benchmark] {name:16s} median {value:.4f} s   (process peak RSS so far '
              f'{peaks[name]:.0f} MiB)')
    limit = med['student step'] + med['teacher forward']
    med['ratio'] = med['distill step'] / limit
    print(f'[benchmark] terms {sorted(distiller.terms)}: ratio distill / (student + teacher '
          f'forward) = {med["ratio"]:.3f}')
    med['terms_share'] = 1 - limit / med['distill step']
    print(f'[benchmark] the KD terms\' own cost (distill step - student step - teacher '
          f'forward) is {100 * med["terms_share"]:.1f}% of the distill step')
    return med


if __name__ == '__main__':
    main()
