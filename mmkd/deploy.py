"""Deploying an exported student: ONNX through mmdeploy, run and checked in onnxruntime.

mmdeploy 1.3.1 rewrites an mmdet / mmseg model for export (post-processing and NMS included) and
runs the ONNX file in onnxruntime with the codebase's own data samples. Three things are needed
on our stack (``docs/deploy.md`` has the measured effect of each):

- torch 2.9 and later export through ``torch.export`` (``dynamo=True``) by default, which knows
  none of mmdeploy's rewrites; :func:`legacy_onnx_exporter` sends mmdeploy's call to the
  TorchScript exporter it was written for.
- mmdeploy exports ``adaptive_avg_pool2d`` as an ``avg_pool2d`` of kernel ``size // bins``, which
  is wrong where the size is not a multiple of the bins (PSPNet's 3 and 6 bins on a 20 x 20 map
  cover 18 x 18 of it); :func:`adaptive_avg_pool2d_exact` is exported instead, for onnxruntime.
- mmdeploy's ``torch2onnx`` loads the checkpoint non-strictly (a mismatched checkpoint becomes a
  warning and a random model); :func:`export_onnx` loads it strictly, with ``weights_only=True``.

The post-processing in the ONNX file takes the student config's own ``test_cfg`` (score
threshold, NMS IoU, detections per image), so onnxruntime and PyTorch give the same detections.
"""
import contextlib
import copy
import functools
import os
import os.path as osp

import numpy as np
import torch
from mmengine.config import Config

from mmkd.apis import distiller_class, export_student
from mmkd.utils.checkpoint import load_checkpoint_file, load_matching_state, state_dict_of

#: the tasks mmdeploy exports, by the config's ``default_scope``
TASKS = {'mmdet': 'ObjectDetection', 'mmseg': 'Segmentation'}


def require_mmdeploy():
    """Imports mmdeploy and onnxruntime, or says how to install them."""
    try:
        import mmdeploy  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        raise ImportError(f'deploying needs mmdeploy and onnxruntime ({err}): pip install '
                          '"mmkd[deploy]" (or pip install -e ".[deploy]" in the repo)') from err


@contextlib.contextmanager
def legacy_onnx_exporter():
    """``torch.onnx.export`` defaults to the TorchScript exporter inside this block."""
    export = torch.onnx.export
    torch.onnx.export = functools.partial(export, dynamo=False)
    try:
        yield
    finally:
        torch.onnx.export = export


def bin_average_matrix(size, bins, like):
    """The (bins, size) matrix whose row ``i`` averages the positions ``floor(i * size / bins)``
    to ``ceil((i + 1) * size / bins) - 1``: adaptive average pooling along one axis.

    ``size`` may be a traced size (``x.shape[2]`` during an ONNX export): it is used only through
    ``torch.arange``, so the exported graph computes the matrix for each input size."""
    pos = torch.arange(size, dtype=like.dtype, device=like.device)[None]  # (1, size)
    length = pos[:, -1:] + 1  # (1, 1): size as a tensor of the graph
    i = torch.arange(bins, dtype=like.dtype, device=like.device)[:, None]  # (bins, 1)
    start, end = torch.floor(i * length / bins), torch.ceil((i + 1) * length / bins)
    inside = ((pos >= start) & (pos < end)).to(like.dtype)  # (bins, size)
    return inside / inside.sum(1, keepdim=True)


def adaptive_avg_pool2d_exact(x, output_size):
    """``F.adaptive_avg_pool2d`` as two matrix products, which ONNX can express for any size.

    Args:
        x (Tensor): (N, C, H, W).
        output_size (int | tuple[int, int]): the bins ``(h, w)``.
    Returns:
        Tensor: (N, C, h, w).
    """
    bins_h, bins_w = (output_size, output_size) if isinstance(output_size, int) else output_size
    N, C, H, W = x.shape
    bins_h = H if bins_h is None else bins_h
    bins_w = W if bins_w is None else bins_w
    rows = bin_average_matrix(H, bins_h, x)  # (h, H)
    cols = bin_average_matrix(W, bins_w, x)  # (w, W)
    return rows @ x @ cols.t()  # (h, H) @ (N, C, H, W) @ (W, w) -> (N, C, h, w)


def register_rewrites():
    """Registers :func:`adaptive_avg_pool2d_exact` as mmdeploy's rewrite of
    ``F.adaptive_avg_pool2d`` for onnxruntime (once)."""
    from mmdeploy.core import FUNCTION_REWRITER
    if getattr(register_rewrites, 'done', False):
        return
    FUNCTION_REWRITER.register_rewriter(
        func_name='torch.nn.functional.adaptive_avg_pool2d', backend='onnxruntime')(
            lambda x, output_size: adaptive_avg_pool2d_exact(x, output_size))
    register_rewrites.done = True


def task_of(model_cfg):
    """The mmdeploy codebase and task of a plain mmdet / mmseg config."""
    scope = model_cfg.get('default_scope')
    if scope not in TASKS:
        raise ValueError(f'cannot deploy a config with default_scope={scope!r}: export_onnx takes '
                         f'an mmdet or mmseg config (default_scope one of {sorted(TASKS)})')
    return scope, TASKS[scope]


def deploy_config(model_cfg, shape=None):
    """The mmdeploy config of ``model_cfg`` for onnxruntime.

    Args:
        model_cfg (Config): a plain mmdet / mmseg config.
        shape (tuple[int, int] | None): a static input ``(height, width)``; None exports dynamic
            batch, height and width.
    """
    scope, task = task_of(model_cfg)
    if scope == 'mmdet':
        test_cfg = model_cfg.model.get('test_cfg') or {}
        test_cfg = test_cfg.get('rcnn', test_cfg)  # a two-stage detector's final stage
        nms = test_cfg.get('nms') or {}
        codebase = dict(type='mmdet', task=task, model_type='end2end', post_processing=dict(
            score_threshold=test_cfg.get('score_thr', 0.05),
            confidence_threshold=test_cfg.get('score_thr', 0.05),
            iou_threshold=nms.get('iou_threshold', 0.5),
            max_output_boxes_per_class=test_cfg.get('max_per_img', 100),
            pre_top_k=-1,  # mmdet cuts candidates per level only (nms_pre), never overall
            keep_top_k=test_cfg.get('max_per_img', 100), background_label_id=-1))
        outputs = ['dets', 'labels']
        axes = {'input': {0: 'batch', 2: 'height', 3: 'width'},
                'dets': {0: 'batch', 1: 'num_dets'}, 'labels': {0: 'batch', 1: 'num_dets'}}
    else:
        codebase = dict(type='mmseg', task=task, with_argmax=True)
        outputs = ['output']
        axes = {'input': {0: 'batch', 2: 'height', 3: 'width'},
                'output': {0: 'batch', 2: 'height', 3: 'width'}}
    onnx = dict(type='onnx', export_params=True, keep_initializers_as_inputs=False,
                opset_version=11, save_file='end2end.onnx', input_names=['input'],
                output_names=outputs, input_shape=None, optimize=True)
    if shape is None:
        onnx['dynamic_axes'] = axes
    else:
        onnx['input_shape'] = [int(shape[1]), int(shape[0])]  # mmdeploy's (width, height)
    return Config(dict(onnx_config=onnx, codebase_config=codebase,
                       backend_config=dict(type='onnxruntime')))


def plain_student(config, checkpoint, out_dir):
    """``(config, checkpoint)`` of a plain model: a distill config's student is exported to
    ``out_dir`` first (``tools/export_student.py``)."""
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    if distiller_class(cfg) is None:
        return cfg, checkpoint
    cfg_path, ckpt_path = export_student(cfg, checkpoint, out_dir)
    return Config.fromfile(cfg_path), ckpt_path


def pytorch_model(task_processor, checkpoint):
    """The task's PyTorch model with ``checkpoint`` loaded strictly and safely."""
    model = task_processor.build_pytorch_model(None)
    state = state_dict_of(load_checkpoint_file(checkpoint, 'student checkpoint'))
    load_matching_state(model, state, f'checkpoint {checkpoint!r} does not fit the model of the '
                        'config (give the checkpoint this config trained, or the student.pth '
                        'tools/export_student.py wrote)')
    return model.eval()


def export_onnx(config, checkpoint, out_dir, image, shape=None):
    """Exports a student to ``out_dir/end2end.onnx`` with mmdeploy, for onnxruntime.

    Args:
        config (str | Config): a plain mmdet / mmseg config, or a distill config (its student is
            exported first, into ``out_dir``).
        checkpoint (str): the config's checkpoint.
        out_dir (str): where the ONNX file and ``deploy_config.py`` go.
        image (str | np.ndarray): an image the export traces with.
        shape (tuple[int, int] | None): a static ``(height, width)``; None for dynamic shapes.

    Returns:
        dict: ``model_cfg``, ``checkpoint``, ``deploy_cfg`` and ``onnx`` (paths and configs).
    """
    require_mmdeploy()
    register_rewrites()
    from mmdeploy.apis import build_task_processor
    from mmdeploy.apis.core.pipeline_manager import no_mp
    from mmdeploy.apis.onnx import export
    os.makedirs(out_dir, exist_ok=True)
    model_cfg, checkpoint = plain_student(config, checkpoint, out_dir)
    deploy_cfg = deploy_config(model_cfg, shape)
    deploy_cfg.dump(osp.join(out_dir, 'deploy_config.py'))
    processor = build_task_processor(copy.deepcopy(model_cfg), deploy_cfg, 'cpu')
    model = pytorch_model(processor, checkpoint)
    data, inputs = processor.create_input(image, deploy_cfg.onnx_config.input_shape,
                                          data_preprocessor=model.data_preprocessor)
    onnx_cfg = deploy_cfg.onnx_config
    with no_mp(), legacy_onnx_exporter():
        export(model, inputs[0] if isinstance(inputs, list) else inputs,
               input_metas=dict(data_samples=data['data_samples'], mode='predict'),
               output_path_prefix=osp.join(out_dir, 'end2end'), backend='onnxruntime',
               input_names=onnx_cfg.input_names, output_names=onnx_cfg.output_names,
               context_info=dict(deploy_cfg=deploy_cfg), opset_version=onnx_cfg.opset_version,
               dynamic_axes=onnx_cfg.get('dynamic_axes'), verbose=False,
               keep_initializers_as_inputs=False, optimize=onnx_cfg.optimize)
    return dict(model_cfg=model_cfg, checkpoint=checkpoint, deploy_cfg=deploy_cfg,
                onnx=osp.join(out_dir, 'end2end.onnx'))


def predictions(model_cfg, checkpoint, deploy_cfg, onnx_file, images):
    """The data samples of PyTorch and of onnxruntime for each image: ``(torch, onnx)``, two
    lists. Both see the same preprocessed input."""
    require_mmdeploy()
    from mmdeploy.apis import build_task_processor
    processor = build_task_processor(copy.deepcopy(model_cfg), deploy_cfg, 'cpu')
    model = pytorch_model(processor, checkpoint)
    backend = processor.build_backend_model([onnx_file], data_preprocessor_updater=None)
    shape = deploy_cfg.onnx_config.input_shape
    torch_out, onnx_out = [], []
    for image in images:
        data, _ = processor.create_input(image, shape)
        with torch.no_grad():
            torch_out.extend(model.test_step(copy.deepcopy(data)))
            onnx_out.extend(clip_to_image(backend.test_step(data)))
    return torch_out, onnx_out


def clip_to_image(samples):
    """Clips the boxes of ONNX detection samples to their image (``ori_shape``), in place.

    mmdet clips boxes to the resized image before it rescales them; the exported graph of a
    dynamic-shape model clips them to its input, which is the resized image padded to the size
    divisor, so a box near the bottom or right edge of a padded image can reach into the padding.
    Clipping the rescaled boxes to the original image gives mmdet's boxes back. Segmentation
    samples are returned as they are.
    """
    for sample in samples:
        pred = sample.get('pred_instances')
        if pred is None or 'bboxes' not in pred:
            continue
        height, width = sample.metainfo['ori_shape'][:2]
        pred.bboxes[:, 0::2] = pred.bboxes[:, 0::2].clamp(0, width)
        pred.bboxes[:, 1::2] = pred.bboxes[:, 1::2].clamp(0, height)
    return samples


def box_iou(a, b):
    """IoU of every box of ``a`` (N, 4) with every box of ``b`` (M, 4), x1y1x2y2: (N, M)."""
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(np.clip(a[:, 2:] - a[:, :2], 0, None), axis=1)
    area_b = np.prod(np.clip(b[:, 2:] - b[:, :2], 0, None), axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None] - inter, 1e-12)


def compare_detections(torch_sample, onnx_sample, min_iou=0.99, min_score=0.0):
    """How one image's ONNX detections differ from PyTorch's.

    Detections are paired as sets, not by rank: scores that tie (an untrained head gives many)
    come out of the two NMS implementations in different orders. A detection is matched when the
    other side has a box of the same label that overlaps it with IoU >= ``min_iou``.

    Args:
        min_score (float): only detections scoring at least this count in ``matched`` (they are
            paired with all of the other side's). Below mmdet's usual 0.05 the two keep different
            candidates: mmdet keeps the ``nms_pre`` best (anchor, class) pairs of a level, the
            exported graph the ``nms_pre`` anchors of best class score and all their classes.

    Returns:
        dict: ``count`` (PyTorch's, ONNX's), ``matched`` (the fraction of the detections of both
        scoring >= ``min_score`` that are matched), ``matched_all`` (the fraction of all),
        ``max_score_diff`` over the matched pairs.
    """
    def arrays(sample):
        pred = sample.pred_instances
        return (pred.bboxes.cpu().numpy().astype(np.float64), pred.scores.cpu().numpy(),
                pred.labels.cpu().numpy())
    (t_box, t_score, t_label), (o_box, o_score, o_label) = arrays(torch_sample), \
        arrays(onnx_sample)
    count = (len(t_box), len(o_box))
    t_keep, o_keep = t_score >= min_score, o_score >= min_score
    if min(count) == 0:
        kept = int(t_keep.sum() + o_keep.sum())
        return dict(count=count, matched=float(kept == 0), matched_all=float(count == (0, 0)),
                    max_score_diff=0.0)
    iou = box_iou(t_box, o_box) * (t_label[:, None] == o_label[None, :])
    t_best, o_best = iou.argmax(1), iou.argmax(0)  # (N,), (M,)
    t_hit, o_hit = iou.max(1) >= min_iou, iou.max(0) >= min_iou
    diffs = np.concatenate([np.abs(t_score - o_score[t_best])[t_hit],
                            np.abs(o_score - t_score[o_best])[o_hit]])
    kept = t_keep.sum() + o_keep.sum()
    matched = (t_hit[t_keep].sum() + o_hit[o_keep].sum()) / kept if kept else 1.0
    return dict(count=count, matched=float(matched),
                matched_all=float((t_hit.sum() + o_hit.sum()) / sum(count)),
                max_score_diff=float(diffs.max()) if len(diffs) else float('inf'))


def compare_masks(torch_sample, onnx_sample):
    """The fraction of pixels where the ONNX class map equals PyTorch's."""
    t_seg = torch_sample.pred_sem_seg.data.squeeze(0).cpu()
    o_seg = onnx_sample.pred_sem_seg.data.squeeze(0).cpu()
    if t_seg.shape != o_seg.shape:
        raise ValueError(f'the ONNX mask is {tuple(o_seg.shape)}, PyTorch\'s {tuple(t_seg.shape)}')
    return float((t_seg == o_seg).float().mean())
