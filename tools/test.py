"""Evaluate the student of a distill config (or the teacher with --teacher, or a plain model)
with the config's own evaluator."""
import argparse
import json
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.model import is_model_wrapper  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmkd  # noqa: E402,F401
from mmkd.apis import plain_config, plain_model, resolve_checkpoint  # noqa: E402
from mmkd.utils.checkpoint import load_matching_state  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Evaluate a student, teacher or plain model')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', nargs='?',
                        help='distiller checkpoint (its student is evaluated); with --teacher, '
                        "the teacher's checkpoint (default: model.teacher.checkpoint)")
    parser.add_argument('--teacher', action='store_true', help='evaluate the teacher')
    parser.add_argument('--member', help='a mutual-learning config: the member to evaluate '
                        '(default: the first)')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--metrics-json', help='also write the metrics to this JSON file')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args(argv)
    if 'LOCAL_RANK' not in os.environ:
        os.environ['LOCAL_RANK'] = str(args.local_rank)
    if args.checkpoint is None and not args.teacher:
        parser.error('a checkpoint is needed unless --teacher is given')
    return args


def main(argv=None):
    """Returns the metrics dict."""
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    checkpoint = resolve_checkpoint(cfg, args.checkpoint, args.teacher)
    model, scope, state = plain_model(cfg, checkpoint, args.teacher, args.member)
    cfg = plain_config(cfg, model, scope, args.member)
    cfg.launcher = args.launcher
    name = osp.splitext(osp.basename(args.config))[0] + ('_teacher' if args.teacher else '') + \
        (f'_{args.member}' if args.member else '')
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join('./work_dirs', name)
    runner = Runner.from_cfg(cfg)
    net = runner.model.module if is_model_wrapper(runner.model) else runner.model
    load_matching_state(net, state, f'checkpoint {checkpoint!r} does not match the '
                        f'{"teacher" if args.teacher else "model"} of {args.config!r}')
    metrics = runner.test()
    if args.metrics_json:
        with open(args.metrics_json, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=1)
    return metrics


if __name__ == '__main__':
    main()
