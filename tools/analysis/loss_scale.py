"""Every KD term's value and gradient against the task loss at the first iteration of a config.

    python tools/analysis/loss_scale.py CONFIG [--batch-size B] [--seed S] [--cfg-options ...]

Builds the config's distiller as the runner does (``init_weights()``, so ``model.inherit`` and
the heads' initial biases are in place) and one batch of ``--batch-size`` images (default: the
config's own batch per GPU) from its train dataloader, the real data pipeline. The teacher is
loaded from ``model.teacher.checkpoint``; when that file does not exist, a randomly initialised
teacher (seeded) stands in, and the table says so. Prints, for the task loss (the student's own
losses summed) and for each KD term: its value, the L2 norm of its gradient on the student's
parameters, and that norm over the task loss's (the ratio ``KDLossScaleHook`` reports).

``--demo-data`` points a COCO or Cityscapes config's train dataloader at the demo images
(``tools/dataset/make_demo_data.py``; COCO boxes and Cityscapes-style label maps), keeping the
config's own pipeline, so a paper config can be measured here without its data set; other data:
``--cfg-options``.
"""
import argparse
import os.path as osp
import sys
import tempfile

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.logging import MMLogger  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import Runner, set_random_seed  # noqa: E402

import mmkd  # noqa: E402,F401
from mmkd.apis import distiller_class  # noqa: E402
from mmkd.models.distillers.base import BaseDistiller  # noqa: E402
from mmkd.models.distillers.build import build_model, model_config  # noqa: E402
from mmkd.registry import MODELS  # noqa: E402


def no_pretrained(node):
    """Switches off every ``init_cfg`` / ``pretrained`` in a model config (no downloads)."""
    if isinstance(node, dict):
        for key in list(node):
            if key in ('init_cfg', 'pretrained'):
                node[key] = None
            else:
                no_pretrained(node[key])
    elif isinstance(node, (list, tuple)):
        for item in node:
            no_pretrained(item)


def random_teacher_checkpoint(cfg, seed):
    """A seeded, randomly initialised teacher of ``cfg.model.teacher.config`` (its own
    initialisation, pretrained backbones off), saved to a temporary file; returns its path."""
    teacher_cfg, scope = model_config(cfg.model.teacher.config, 'model.teacher.config',
                                      cfg.get('default_scope', 'mmdet'))
    no_pretrained(teacher_cfg)
    torch.manual_seed(seed)
    teacher = build_model(teacher_cfg, scope)
    teacher.init_weights()
    path = osp.join(tempfile.mkdtemp(), 'random_teacher.pth')
    torch.save(teacher.state_dict(), path)
    return path


DEMO_ROOT = 'data/mmkd_demo/'


def innermost_dataset(dataset):
    """The dataset config inside ``RepeatDataset`` and the like: the one with the pipeline."""
    while 'dataset' in dataset:
        dataset = dataset.dataset
    return dataset


def use_demo_data(cfg, dataloader='train_dataloader'):
    """The dataset of ``cfg``'s ``dataloader`` (a COCO or Cityscapes one) on the demo images:
    their train split for the train dataloader, their val split for the others."""
    dataset = innermost_dataset(cfg[dataloader].dataset)
    dataset.data_root = DEMO_ROOT
    split = 'train' if dataloader == 'train_dataloader' else 'val'
    if 'Coco' in dataset.type:
        dataset.ann_file = f'annotations/instances_{split}.json'
        dataset.data_prefix = dict(img='')
        dataset.metainfo = dict(classes=tuple(str(d) for d in range(10)))
    else:
        dataset.data_prefix = dict(img_path=f'leftImg8bit/{split}',
                                   seg_map_path=f'gtFine/{split}')


def measure(cfg, batch_size=None, seed=0):
    """The loss-scale report of the first batch: ``{'task' | term: dict(loss, grad_norm)}``, and
    whether the teacher was random."""
    distiller = distiller_class(cfg)
    random_teacher = distiller is not None and issubclass(distiller, BaseDistiller) and \
        not osp.isfile(
        str(cfg.model.teacher.get('checkpoint')))
    if random_teacher:
        cfg.model.teacher.checkpoint = random_teacher_checkpoint(cfg, seed)
    if batch_size:
        cfg.train_dataloader.batch_size = batch_size
    cfg.train_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = False
    scope = cfg.get('default_scope', 'mmdet')
    set_random_seed(seed)  # the pipeline's random transforms and the student's initialisation
    with DefaultScope.overwrite_default_scope(scope):
        loader = Runner.build_dataloader(cfg.train_dataloader, seed=seed)
        distiller = MODELS.build(cfg.model)
    distiller.init_weights()
    distiller.train()
    data = distiller.data_preprocessor(next(iter(loader)), True)
    losses = distiller.loss(data['inputs'], data['data_samples'])
    return distiller.measure_loss_scale(losses), random_teacher, tuple(data['inputs'].shape)


def format_report(report):
    task = report['task']
    lines = [f'{"part":<24s} {"value":>12s} {"grad norm":>12s} {"grad / task":>12s}']
    for name, m in report.items():
        ratio = m['grad_norm'] / task['grad_norm'] if task['grad_norm'] else float('nan')
        lines.append(f'{name:<24s} {m["loss"]:>12.5g} {m["grad_norm"]:>12.5g} '
                     f'{ratio:>12.4g}')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('--batch-size', type=int, default=None,
                        help="images in the batch (default: the config's batch per GPU)")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--no-pretrained', action='store_true',
                        help="the student's backbone from its own initialisation instead of "
                        'the ImageNet weights its config downloads')
    parser.add_argument('--demo-data', action='store_true',
                        help='train on the demo images (a COCO / Cityscapes config)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    MMLogger.get_instance('mmkd_loss_scale', log_level='WARNING')  # no init_weights listing
    if not osp.isfile(args.config):
        parser.error(f'config {args.config!r} does not exist')
    cfg = Config.fromfile(args.config)
    if args.no_pretrained:
        no_pretrained(cfg.model)
    if args.demo_data:
        use_demo_data(cfg)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if not str(cfg.model.get('type', '')).startswith('mmkd.'):
        parser.error(f'{args.config} is not a distill config (model.type={cfg.model.get("type")})')
    report, random_teacher, shape = measure(cfg, args.batch_size, args.seed)
    print(f'[loss_scale] {args.config}: batch {shape}, '
          + ('a RANDOM teacher (no checkpoint at model.teacher.checkpoint)' if random_teacher
             else 'the teacher of model.teacher.checkpoint'))
    print(format_report(report))
    return report


if __name__ == '__main__':
    main()
