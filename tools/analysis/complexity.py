"""What a student costs against its teacher: parameters, FLOPs and CPU latency per image.

    python tools/analysis/complexity.py CONFIG [--checkpoint CKPT] [--teacher-checkpoint CKPT]
        [--images 5] [--repeats 10] [--threads 2] [--demo-data] [--no-pretrained]
        [--image-size W H] [--json OUT] [--cfg-options ...]

CONFIG is a distill config (the teacher of ``model.teacher`` and the student are measured) or a
plain mmdet / mmseg config (its model alone). Both models see the same images: the first
``--images`` of CONFIG's test dataloader, one at a time, at its test pipeline's size.

- **Parameters**: every parameter of the model (buffers not counted).
- **FLOPs**: MMEngine's complexity analysis (``mmengine.analysis``; one multiply-add counts as
  one FLOP, as in mmdet's and mmseg's ``get_flops.py``) of the model's tensor forward
  (``mode='tensor'``: backbone, neck, heads; no post-processing), the mean over the images.
- **Latency**: the median wall time per image of ``test_step`` (the model's preprocessing,
  forward and post-processing: NMS for a detector, the ``test_cfg``'s whole or slide inference
  for a segmentor), over ``--repeats`` passes through the images after one warm-up pass, with
  ``--threads`` threads, one process, nothing else running.

Weights: the teacher's are ``model.teacher.checkpoint`` (or ``--teacher-checkpoint``), the
student's those of a distiller checkpoint (``--checkpoint``, e.g. a run's ``epoch_48.pth``).
Without them the model keeps its random initialisation, and the table says so: parameters and
FLOPs do not depend on the weights, but post-processing does (how many boxes pass the score
threshold into NMS), so give trained weights for latencies you publish.

``--demo-data`` points a COCO or Cityscapes config's test dataloader at the demo images;
``--no-pretrained`` drops ImageNet initialisations (no download). ``--image-size W H`` resizes
each image to ``W x H`` as it is loaded, before the config's own test pipeline: the 160 x 160
demo images then reach the models at the size a dataset's typical image does (``640 480`` for
COCO: 1067 x 800 after mmdet's test resize; ``2048 1024`` for Cityscapes). ``--json`` writes
the figures.
"""
import argparse
import os.path as osp
import statistics
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from mmengine.config import Config, DictAction  # noqa: E402
from mmengine.registry import DefaultScope  # noqa: E402
from mmengine.runner import Runner  # noqa: E402

import mmkd  # noqa: E402,F401
from mmkd.apis import distiller_class, plain_model  # noqa: E402
from mmkd.models.distillers.build import build_model, model_config  # noqa: E402
from mmkd.utils.checkpoint import load_matching_state  # noqa: E402


class TensorForward(nn.Module):
    """``model(inputs, data_samples, mode='tensor')`` as a one-argument module, for the FLOP
    tracer. A two-stage detector needs the data samples (image sizes for its RPN proposals), as
    in mmdet's ``get_flops.py``."""

    def __init__(self, model, data_samples=None):
        super().__init__()
        self.model = model
        self.data_samples = data_samples

    def forward(self, inputs):
        return self.model(inputs, self.data_samples, mode='tensor')


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def count_flops(model, inputs, data_samples=None):
    """(total FLOPs, {operator: FLOPs}) of ``model``'s tensor forward on ``inputs``."""
    from mmengine.analysis import FlopAnalyzer
    analyzer = FlopAnalyzer(TensorForward(model, data_samples), inputs)
    analyzer.unsupported_ops_warnings(False)
    analyzer.uncalled_modules_warnings(False)
    return analyzer.total(), dict(analyzer.by_operator())


@torch.no_grad()
def latency(model, batches, repeats):
    """The median seconds of ``model.test_step`` per image over ``repeats`` passes through
    ``batches`` (one image each), after one warm-up pass."""
    for batch in batches:
        model.test_step(batch)
    times = []
    for _ in range(repeats):
        for batch in batches:
            start = time.perf_counter()
            model.test_step(batch)
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def models_of(cfg, checkpoint=None, teacher_checkpoint=None):
    """[(role, model config, scope, state dict or None)]: teacher and student of a distill
    config, or the model of a plain config."""
    distiller = distiller_class(cfg)
    if distiller is None:
        state = plain_model(cfg, checkpoint)[2] if checkpoint else None
        return [('model', cfg.model, cfg.get('default_scope') or 'mmdet', state)]
    if 'students' in cfg.model:
        raise ValueError('complexity.py: a mutual-learning config has no teacher; measure a '
                         "member's own model config instead.")
    teacher_checkpoint = teacher_checkpoint or cfg.model.teacher.get('checkpoint')
    if teacher_checkpoint and osp.isfile(str(teacher_checkpoint)):
        t_model, t_scope, t_state = plain_model(cfg, teacher_checkpoint, teacher=True)
    else:
        (t_model, t_scope), t_state = model_config(
            cfg.model.teacher['config'], 'model.teacher.config', distiller.DEFAULT_SCOPE), None
    if checkpoint:
        s_model, s_scope, s_state = plain_model(cfg, checkpoint)
    else:
        (s_model, s_scope), s_state = model_config(cfg.model.student, 'model.student',
                                                   distiller.DEFAULT_SCOPE), None
    return [('teacher', t_model, t_scope, t_state), ('student', s_model, s_scope, s_state)]


def test_batches(cfg, images):
    """The first ``images`` batches (one image each) of ``cfg``'s test dataloader."""
    loader_cfg = cfg.test_dataloader.copy()
    loader_cfg.update(batch_size=1, num_workers=0, persistent_workers=False)
    loader_cfg.sampler = dict(type='DefaultSampler', shuffle=False)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope') or 'mmdet'):
        loader = Runner.build_dataloader(loader_cfg)
    batches = []
    for batch in loader:
        batches.append(batch)
        if len(batches) == images:
            break
    return batches


def resize_on_load(cfg, width, height):
    """Inserts ``Resize(scale=(width, height), keep_ratio=False)`` after the test pipeline's
    image loading."""
    from tools.analysis.loss_scale import innermost_dataset
    dataset = innermost_dataset(cfg.test_dataloader.dataset)
    pipeline = list(dataset.pipeline)
    loads = [i for i, t in enumerate(pipeline) if 'LoadImage' in t['type']]
    if not loads:
        raise ValueError('--image-size: the test pipeline has no LoadImageFromFile step to '
                         f'resize after (its steps: {[t["type"] for t in pipeline]})')
    pipeline.insert(loads[0] + 1, dict(type='Resize', scale=(width, height), keep_ratio=False))
    dataset.pipeline = pipeline


def measure(cfg, checkpoint=None, teacher_checkpoint=None, images=5, repeats=10,
            pretrained=True):
    """``{role: dict(params, flops, flops_by_operator, latency, input_shape, trained)}``;
    ``pretrained=False`` drops the ImageNet initialisations of both models (the teacher's
    config may be a file that ``cfg`` only names)."""
    batches = test_batches(cfg, images)
    if not batches:
        raise ValueError('complexity.py: the config\'s test dataloader gave no image; point it '
                         'at data (--demo-data, or --cfg-options test_dataloader.dataset...).')
    report = {}
    for role, model_cfg, scope, state in models_of(cfg, checkpoint, teacher_checkpoint):
        if not pretrained:
            from tools.analysis.loss_scale import no_pretrained
            no_pretrained(model_cfg)
        with DefaultScope.overwrite_default_scope(scope):
            model = build_model(model_cfg, scope)
            model.init_weights()  # as the runner does (the heads' prior-probability biases)
            if state is not None:
                load_matching_state(model, state, f'the {role} checkpoint does not match the '
                                    f'{role} model of the config')
            model.eval()
            seconds = latency(model, batches, repeats)  # before the FLOP tracer runs the model
            flops, by_operator, shapes = [], {}, []
            for batch in batches:
                data = model.data_preprocessor(batch, False)
                inputs = data['inputs']
                shapes.append(tuple(inputs.shape[-2:]))
                total, ops = count_flops(model, inputs, data['data_samples'])
                flops.append(total)
                for op, value in ops.items():
                    by_operator[op] = by_operator.get(op, 0) + value / len(batches)
            report[role] = dict(
                params=count_parameters(model), flops=sum(flops) / len(flops),
                flops_by_operator=by_operator, input_shape=shapes[0],
                same_shape=len(set(shapes)) == 1, latency=seconds,
                trained=state is not None)
    return report


def _si(value):
    for unit, scale in (('G', 1e9), ('M', 1e6), ('k', 1e3)):
        if value >= scale:
            return f'{value / scale:.2f} {unit}'
    return f'{value:.0f}'


def format_table(report, threads):
    lines = ['| model | weights | parameters | FLOPs (input) | CPU latency per image '
             f'({threads} threads) |', '|---|---|---|---|---|']
    for role, row in report.items():
        h, w = row['input_shape']
        size = f'{h} x {w}' if row['same_shape'] else f'{h} x {w}, first image'
        lines.append(f"| {role} | {'trained' if row['trained'] else 'random'} | "
                     f"{_si(row['params'])} | {_si(row['flops'])} ({size}) | "
                     f"{1000 * row['latency']:.1f} ms |")
    if {'teacher', 'student'} <= set(report):
        t, s = report['teacher'], report['student']
        lines.append(f"| student / teacher | | {s['params'] / t['params']:.3f} | "
                     f"{s['flops'] / t['flops']:.3f} | {s['latency'] / t['latency']:.3f} |")
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint', help="a distiller checkpoint: the student's weights "
                        '(a plain config: the model\'s)')
    parser.add_argument('--teacher-checkpoint',
                        help='the teacher\'s weights (default: model.teacher.checkpoint)')
    parser.add_argument('--images', type=int, default=5)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument('--demo-data', action='store_true',
                        help='a COCO / Cityscapes config\'s test dataloader on the demo images')
    parser.add_argument('--no-pretrained', action='store_true',
                        help='no ImageNet weights (no download)')
    parser.add_argument('--image-size', nargs=2, type=int, metavar=('W', 'H'),
                        help='resize each image to W x H before the test pipeline')
    parser.add_argument('--json', help='also write the figures to this JSON file')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args(argv)
    from tools.analysis.loss_scale import use_demo_data
    torch.set_num_threads(args.threads)
    cfg = Config.fromfile(args.config)
    if args.demo_data:
        use_demo_data(cfg, 'test_dataloader')
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.image_size:
        resize_on_load(cfg, *args.image_size)
    report = measure(cfg, args.checkpoint, args.teacher_checkpoint, args.images, args.repeats,
                     pretrained=not args.no_pretrained)
    table = format_table(report, args.threads)
    print(table)
    if args.json:
        import json
        with open(args.json, 'w') as f:
            json.dump(dict(config=args.config, threads=args.threads, images=args.images,
                           repeats=args.repeats, image_size=args.image_size, table=table,
                           models=report), f, indent=1)
    if not all(row['trained'] for row in report.values()):
        print('[complexity] random weights where the table says so: the latencies include '
              'post-processing, which depends on the weights.')
    return report


if __name__ == '__main__':
    main()
