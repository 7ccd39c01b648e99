"""Time a distill config's training step against its limit.

    python tools/analysis/benchmark.py CONFIG [--iters 20] [--warmup 3] [--batch-size 2]

In one process, on the same batches of the config's train dataloader, it times

- the student's own train step (its mmdet loss, backward, SGD step),
- the teacher's no-grad forward, as deep as the config's KD terms need it,
- the distill train step (student step + teacher + KD terms, backward, SGD step),
- the student's own step again, right after a teacher forward that is not timed: a distill step
  runs both models one after the other, so the student's step meets a cache the teacher has
  just been through, while the limit times it alone,
- (once, first) every loss of the distill step on the first batch, to compare the KD terms'
  magnitudes with the task losses,

interleaved iteration by iteration, each iteration starting at the next part (a progress line
with an ETA every few seconds, unless ``--no-progress``), and prints the medians, the ratio
``distill / (student + teacher forward)``, the same ratio with the student's step after the
teacher (what the KD terms' own work adds, the two models' sharing of the cache taken out) and
the process's peak memory after each part.
The config's teacher checkpoint must exist (train the teacher first) unless ``--random-teacher``.
``--cfg-options model.teacher.dtype=bfloat16`` times the teacher in reduced precision.

``--anchor mmdet-ld`` (an LD config of a GFL student and teacher) also times, on the same batches
and interleaved with the rest, mmdet's own LD: ``KnowledgeDistillationSingleStageDetector`` with
the student's model and an ``LDHead`` (``KnowledgeDistillationKLDivLoss``, the config's T and
weight), the same student and teacher weights, and prints each step against the limit and
mmkd's step against mmdet's. A COCO config runs here with ``--demo-data --no-pretrained``
(``tools/analysis/loss_scale.py``'s options) and ``--input-size 320`` (every ``Resize`` of the
train pipeline to 320 x 320).

``--anchor mmrazor-cwd`` (a config of one CWD term on the FPN levels, configs/cwd/cwd-fpn_*) does
the same with MMRazor 1.0's ``FpnTeacherDistill``: a ``ConfigurableDistiller`` recording both
necks, one ``ChannelWiseDivergence`` per level with the config's temperature and weight
(MMRazor's own detection CWD config). MMRazor is in the ``[tests]`` extra; its quantization
structures import names torch 2.x removed, so they are replaced by a module whose names raise
when used (distillation never uses them; ``import_mmrazor``).

``--procs N`` times instead the whole training step (MMEngine's optimizer wrapper, one SGD step)
for a global batch of ``--batch-size`` images: in one process with ``--threads`` threads, then in
N processes (gloo, ``KDDistributedDataParallel``, ``batch-size / N`` images and
``threads / N`` threads each), and prints the ratio of the two step times.
"""
import argparse
import os
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


def resize_to(pipeline, size):
    """Every ``Resize`` of ``pipeline`` to ``size`` x ``size`` (no ratio kept)."""
    for step in pipeline:
        if 'Resize' in step['type']:
            step.update(scale=(size, size), keep_ratio=False)


def build(args, parser, batch_size):
    """The config (with the command line's changes), its distiller in train mode and a train
    dataloader of ``batch_size`` images."""
    from tools.analysis.loss_scale import innermost_dataset, no_pretrained, use_demo_data
    cfg = Config.fromfile(args.config)
    if args.demo_data:  # first, so that --cfg-options can change what it sets
        use_demo_data(cfg)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.no_pretrained:
        no_pretrained(cfg.model)
    if args.input_size:
        resize_to(innermost_dataset(cfg.train_dataloader.dataset).pipeline, args.input_size)
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    if args.only:
        unknown = set(args.only) - set(cfg.model.kd_terms)
        if unknown:
            parser.error(f'--only names {sorted(unknown)}; the config\'s terms are '
                         f'{sorted(cfg.model.kd_terms)}')
        cfg.model.kd_terms = {k: v for k, v in cfg.model.kd_terms.items() if k in args.only}
    if args.random_teacher:
        from tools.analysis.loss_scale import random_teacher_checkpoint
        # seed 0: every process builds the same teacher
        cfg.model.teacher.checkpoint = random_teacher_checkpoint(cfg, seed=0)
    cfg.train_dataloader.batch_size = batch_size
    scope = cfg.get('default_scope', 'mmdet')
    with DefaultScope.overwrite_default_scope(scope):
        loader = Runner.build_dataloader(cfg.train_dataloader)
    torch.manual_seed(0)
    distiller = MODELS.build(cfg.model)
    distiller.init_weights()  # as the runner does (the heads' prior-probability biases)
    distiller.train()
    return cfg, distiller, loader


def time_train_steps(args, parser, batch_size, threads, rank=0, world_size=1):
    """Median seconds of ``train_step`` (forward, backward, SGD step) over ``args.iters``
    batches after ``args.warmup``; under DDP when ``world_size > 1``."""
    from mmengine.optim import OptimWrapper
    torch.set_num_threads(threads)
    _, distiller, loader = build(args, parser, batch_size)
    model = distiller
    if world_size > 1:
        from mmkd.engine.wrappers import KDDistributedDataParallel
        model = KDDistributedDataParallel(distiller)
    wrapper = OptimWrapper(torch.optim.SGD(
        [p for p in distiller.parameters() if p.requires_grad], lr=1e-5))
    times = []
    data = iter(loader)
    for i in range(args.iters + args.warmup):
        batch = next(data)
        seconds = timed(lambda: model.train_step(batch, wrapper))
        if i >= args.warmup:
            times.append(seconds)
    return statistics.median(times)


def _ddp_worker(rank, args, parser, world_size, port, out):
    import torch.distributed as dist
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port), RANK=str(rank),
                      WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank))
    dist.init_process_group('gloo', rank=rank, world_size=world_size)
    seconds = time_train_steps(args, parser, args.batch_size // world_size,
                               max(1, args.threads // world_size), rank, world_size)
    if rank == 0:
        out.put(seconds)
    dist.destroy_process_group()


def compare_processes(args, parser):
    """The train step of a global batch in one process vs ``args.procs`` processes."""
    import torch.multiprocessing as mp
    if args.batch_size % args.procs:
        parser.error(f'--batch-size {args.batch_size} must be a multiple of --procs '
                     f'{args.procs}')
    one = time_train_steps(args, parser, args.batch_size, args.threads)
    print(f'[benchmark] 1 process, {args.threads} threads, batch {args.batch_size}: train step '
          f'median {one:.4f} s')
    ctx = mp.get_context('spawn')
    out = ctx.SimpleQueue()
    # the parser stays here: --only was checked by the one-process run
    mp.start_processes(_ddp_worker, args=(args, None, args.procs, 29600 + os.getpid() % 300,
                                          out), nprocs=args.procs, start_method='spawn')
    many = out.get()
    per = max(1, args.threads // args.procs)
    print(f'[benchmark] {args.procs} processes x {per} threads, batch '
          f'{args.batch_size // args.procs} each: train step median {many:.4f} s')
    print(f'[benchmark] ratio {args.procs}-process / 1-process step time = {many / one:.3f}')
    return dict(one=one, many=many, ratio=many / one)


def mmdet_ld(cfg, distiller):
    """mmdet's own LD for the LD config ``cfg``: ``KnowledgeDistillationSingleStageDetector``
    with the student's model, its head an ``LDHead`` whose ``loss_ld`` has the config's
    temperature and weight, the teacher of the config, and the distiller's student and teacher
    weights, in train mode (the teacher in eval mode, as mmdet's ``eval_teacher``)."""
    import copy
    terms = [t for t in distiller.kd_terms.values()
             if type(t.loss_module).__name__ == 'LocalizationDistillationLoss']
    if len(terms) != 1 or len(distiller.kd_terms) != 1:
        raise SystemExit('--anchor mmdet-ld needs a config with one KD term, '
                         "LocalizationDistillationLoss on the positives (configs/ld/ld_*): "
                         f'this one has {sorted(distiller.kd_terms)}')
    loss = terms[0].loss_module
    student = copy.deepcopy(distiller.student_cfg)
    if student.bbox_head.type != 'GFLHead':
        raise SystemExit(f'--anchor mmdet-ld needs a GFLHead student; the config\'s is '
                         f'{student.bbox_head.type}')
    student.bbox_head.update(type='LDHead', loss_ld=dict(
        type='KnowledgeDistillationKLDivLoss', loss_weight=loss.loss_weight, T=loss.temperature))
    student.update(type='KnowledgeDistillationSingleStageDetector',
                   teacher_config=dict(model=copy.deepcopy(distiller.teacher_cfg)),
                   teacher_ckpt=None)
    student.teacher_config.model.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('mmdet'):
        anchor = MODELS.build(dict(student, _scope_='mmdet'))
    missing = anchor.load_state_dict(distiller.student.state_dict(), strict=False)
    if missing.missing_keys or missing.unexpected_keys:
        raise SystemExit(f"mmdet's LD model does not take the student's weights: {missing}")
    anchor.teacher_model.load_state_dict(distiller.teacher.state_dict())
    anchor.train()
    return anchor


def import_mmrazor():
    """MMRazor's models, importable beside torch 2.13. Its quantization structures import names
    torch 2.x removed (``torch.ao.quantization.fuser_method_mappings.reverse2`` ...) and
    ``mmrazor.structures`` imports them for every model; distillation never uses them, so that
    subpackage is replaced, before MMRazor is first imported, by a module whose names raise when
    used. (MMRazor's registries join MMEngine's when first imported: a failed import cannot be
    retried in the same process.)"""
    import importlib
    import importlib.util
    import types
    if importlib.util.find_spec('mmrazor') is None:
        raise SystemExit('--anchor mmrazor-cwd needs MMRazor 1.0: pip install mmrazor==1.0.0 '
                         '(the [tests] extra has it)')
    name = 'mmrazor.structures.quantization'
    if 'mmrazor' not in sys.modules and name not in sys.modules:
        stub = types.ModuleType(name)
        stub.__path__ = []
        stub.__all__ = []

        def unavailable(attr):
            if attr.startswith('__'):
                raise AttributeError(attr)

            def refuse(*args, **kwargs):
                raise RuntimeError(f"{name}.{attr}: MMRazor 1.0's quantization does not import "
                                   'beside torch 2.x')
            return refuse
        stub.__getattr__ = unavailable
        sys.modules[name] = stub
    return importlib.import_module('mmrazor.models')


def mmrazor_cwd(cfg, distiller):
    """MMRazor's own CWD on the FPN for the config ``cfg`` (one ``ChannelWiseDivergenceLoss``
    term on ``s_neck`` / ``t_neck``): ``FpnTeacherDistill`` with the config's student and
    teacher, a ``ChannelWiseDivergence`` per neck level (the term's temperature and weight) and
    the distiller's student and teacher weights, in train mode (the teacher in eval mode)."""
    import copy
    terms = list(distiller.kd_terms.values())
    if len(terms) != 1 or type(terms[0].loss_module).__name__ != 'ChannelWiseDivergenceLoss' \
            or list(terms[0].inputs) != ['s_neck', 't_neck'] \
            or any(True for _ in terms[0].adapters.parameters()):
        raise SystemExit('--anchor mmrazor-cwd needs a config with one KD term, '
                         "ChannelWiseDivergenceLoss on ['s_neck', 't_neck'] with equal channels "
                         f'(configs/cwd/cwd-fpn_*): this one has {sorted(distiller.kd_terms)}')
    term = terms[0]
    razor = import_mmrazor()
    from mmrazor.registry import MODELS as RAZOR_MODELS
    num_levels = getattr(getattr(distiller.student, 'neck', None), 'num_outs', None)
    if num_levels is None:
        raise SystemExit('--anchor mmrazor-cwd needs a student with an FPN-like neck '
                         f'(num_outs); this one is {type(distiller.student).__name__}')
    levels = term.level_indices(num_levels)
    loss = term.loss_module
    losses, mappings = {}, {}
    for lv in levels:
        losses[f'loss_cwd_fpn{lv}'] = dict(type='ChannelWiseDivergence', tau=loss.temperature,
                                           loss_weight=loss.loss_weight * term.kd_weight)
        mappings[f'loss_cwd_fpn{lv}'] = dict(
            preds_S=dict(from_student=True, recorder='fpn', data_idx=lv),
            preds_T=dict(from_student=False, recorder='fpn', data_idx=lv))
    student = dict(copy.deepcopy(distiller.student_cfg), _scope_='mmdet')
    teacher = dict(copy.deepcopy(distiller.teacher_cfg), _scope_='mmdet')
    teacher.pop('init_cfg', None)
    with DefaultScope.overwrite_default_scope('mmrazor'):
        anchor = RAZOR_MODELS.build(dict(
            type='FpnTeacherDistill', architecture=student, teacher=teacher,
            distiller=dict(
                type='ConfigurableDistiller',
                student_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
                teacher_recorders=dict(fpn=dict(type='ModuleOutputs', source='neck')),
                distill_losses=losses, loss_forward_mappings=mappings)))
    assert isinstance(anchor, razor.FpnTeacherDistill)
    anchor.student.load_state_dict(distiller.student.state_dict())
    anchor.teacher.load_state_dict(distiller.teacher.state_dict())
    anchor.train()
    return anchor


def loss_values(losses):
    """A model's loss dict as floats (a per-level list summed)."""
    return {k: float(sum(v) if isinstance(v, list) else v) for k, v in losses.items()}


# --anchor: (the peer, its method, the builder of its model)
ANCHORS = {'mmdet-ld': ('mmdet', 'LD', mmdet_ld), 'mmrazor-cwd': ('MMRazor', 'CWD', mmrazor_cwd)}


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
    parser.add_argument('--anchor', choices=sorted(ANCHORS),
                        help="also time a peer's step on the same batches (see above)")
    parser.add_argument('--demo-data', action='store_true',
                        help='a COCO / Cityscapes config on the demo images')
    parser.add_argument('--no-pretrained', action='store_true',
                        help='no ImageNet weights (no download)')
    parser.add_argument('--input-size', type=int,
                        help="every Resize of the train pipeline to this square size")
    parser.add_argument('--procs', type=int, default=1,
                        help='compare a DDP train step in this many processes with one process')
    args = parser.parse_args(argv)
    if args.procs > 1:
        return compare_processes(args, parser)
    torch.set_num_threads(args.threads)

    cfg, distiller, loader = build(args, parser, args.batch_size)
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
        first = loss_values(distiller.loss(batches[0]['inputs'], batches[0]['data_samples']))
    print('[benchmark] losses on the first batch: ' + ', '.join(
        f'{k} {v:.4g}' for k, v in first.items()))

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

    def student_after_teacher(batch):
        teacher_forward(batch)
        return timed(lambda: student_step(batch))  # the teacher's forward not counted

    parts = {'student step': student_step, 'teacher forward': teacher_forward,
             'distill step': distill_step, 'student after teacher': student_after_teacher}
    if args.anchor:
        peer, method, build_anchor = ANCHORS[args.anchor]
        label = f"{peer}'s {method}"
        anchor = build_anchor(cfg, distiller)
        a_opt = torch.optim.SGD([p for p in anchor.parameters() if p.requires_grad], lr=1e-5)

        def anchor_step(batch):
            a_opt.zero_grad()
            anchor.parse_losses(anchor.loss(batch['inputs'], batch['data_samples']))[0].backward()
            a_opt.step()
        parts[f'{label} step'] = anchor_step
        with torch.no_grad():
            anchor_first = loss_values(anchor.loss(batches[0]['inputs'],
                                                   batches[0]['data_samples']))
        print(f'[benchmark] {label} on the first batch: ' + ', '.join(
            f'{k} {v:.4g}' for k, v in anchor_first.items()))
    times = {name: [] for name in parts}
    peaks = {}
    progress = Progress(len(batches), '[benchmark] iterations', enabled=not args.no_progress)
    names = list(parts)
    for i, batch in enumerate(batches):
        # each iteration starts at another part, so no part always runs after the same one
        for name in names[i % len(names):] + names[:i % len(names)]:
            fn = parts[name]
            start = time.perf_counter()
            own = fn(batch)  # a part that times itself returns its seconds
            seconds = time.perf_counter() - start if own is None else own
            if i >= args.warmup:
                times[name].append(seconds)
            peaks[name] = peak_rss_mib()
        progress.update(note=' (warm-up)' if i < args.warmup else '')
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, value in med.items():
        print(f'[benchmark] {name:21s} median {value:.4f} s   (process peak RSS so far '
              f'{peaks[name]:.0f} MiB)')
    limit = med['student step'] + med['teacher forward']
    med['ratio'] = med['distill step'] / limit
    print(f'[benchmark] terms {sorted(distiller.kd_terms)}: ratio distill / (student + teacher '
          f'forward) = {med["ratio"]:.3f}')
    med['terms_share'] = 1 - limit / med['distill step']
    print(f'[benchmark] the KD terms\' own cost (distill step - student step - teacher '
          f'forward) is {100 * med["terms_share"]:.1f}% of the distill step')
    med['ratio_after_teacher'] = med['distill step'] / (med['student after teacher'] +
                                                         med['teacher forward'])
    print(f"[benchmark] the student's step after a teacher forward takes "
          f"{med['student after teacher'] / med['student step']:.3f} times its step alone; "
          f"distill / (that step + teacher forward) = {med['ratio_after_teacher']:.3f}")
    med['first_losses'] = first
    if args.anchor:
        med['anchor_first_losses'] = anchor_first
        med['anchor_ratio'] = med[f'{label} step'] / limit
        med['vs_anchor'] = med['distill step'] / med[f'{label} step']
        # the two steps of one batch run side by side: the median of their ratios follows the
        # machine's drift less than the ratio of the medians
        med['vs_anchor_paired'] = statistics.median(
            d / a for d, a in zip(times['distill step'], times[f'{label} step']))
        print(f"[benchmark] {label} step / limit = {med['anchor_ratio']:.3f}; mmkd's step / "
              f"{peer}'s = {med['vs_anchor']:.3f} (median of the batches' ratios "
              f"{med['vs_anchor_paired']:.3f})")
    return med


if __name__ == '__main__':
    main()
