"""Train a detector / segmentor, or distil one with an mmkd config (mmdet's train.py flags)."""
import argparse
import logging
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import print_log  # noqa: E402
from mmengine.registry import RUNNERS  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmkd  # noqa: E402,F401  registers mmkd's modules, allow-lists runner checkpoints


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Train or distil a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision: fp16 with loss scaling on GPU, bf16 on '
                        'CPU; KD terms stay in fp32')
    parser.add_argument('--auto-scale-lr', action='store_true', help='scale lr by batch size')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or the latest in work_dir')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    return args


def build_config(args):
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        # one wrapper, or one per distiller part (mmkd.MultiOptimWrapperConstructor)
        wrappers = [cfg.optim_wrapper] if 'constructor' not in cfg.optim_wrapper else \
            [w for w in cfg.optim_wrapper.values() if isinstance(w, dict)]
        for wrapper in wrappers:
            if torch.cuda.is_available():
                wrapper.type = 'AmpOptimWrapper'
                wrapper.setdefault('loss_scale', 'dynamic')
            else:  # MMEngine's AmpOptimWrapper refuses CPUs
                wrapper.type = 'mmkd.BF16OptimWrapper'
    if args.auto_scale_lr:
        cfg.auto_scale_lr = dict(cfg.get('auto_scale_lr', {}), enable=True)
    warn_runtime(cfg, args.launcher)
    if args.launcher != 'none' and not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
    if args.resume == 'auto':
        cfg.resume = True
        cfg.load_from = None
    elif args.resume is not None:
        cfg.resume = True
        cfg.load_from = args.resume
    return cfg


def warn_runtime(cfg, launcher):
    """Says, without changing the config, what a distill config lacks of mmkd's runtime (its
    checkpoint hook for exact resumes, its DDP wrapper for the distiller's own step): the config
    runs as written, with this tool as with mmdet's / mmseg's or ``mim``."""
    if 'Distiller' not in str(cfg.get('model', {}).get('type', '')):
        return
    lines = []
    checkpoint = cfg.get('default_hooks', {}).get('checkpoint') or {}
    if checkpoint.get('type') in ('CheckpointHook', 'mmengine.CheckpointHook'):
        lines.append("default_hooks = dict(checkpoint=dict(type='mmkd.SafeCheckpointHook')) "
                     '(atomic checkpoints with the random state: exact resumes)')
    if launcher != 'none' and cfg.get('model_wrapper_cfg') is None:
        lines.append("model_wrapper_cfg = dict(type='mmkd.KDDistributedDataParallel') (without "
                     "it DDP runs MMEngine's step: an adversarial discriminator never trains)")
    if lines:
        print_log('mmkd: the config runs without mmkd\'s runtime; add\n  ' + '\n  '.join(lines),
                  logger='current', level=logging.WARNING)


def init_cpu_distributed(launcher):
    """Joins the process group on a machine without CUDA. MMEngine 0.10.7's pytorch launcher
    calls ``torch.cuda.set_device`` first, which a CPU build of torch does not have; the runner
    uses a group that exists."""
    if launcher != 'pytorch' or torch.cuda.is_available():
        return
    import torch.distributed as dist
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')


def main(argv=None):
    args = parse_args(argv)
    cfg = build_config(args)
    init_cpu_distributed(args.launcher)
    runner = Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)
    runner.train()
    return runner


if __name__ == '__main__':
    main()
