"""Validation and test of every member of a ``MutualLearningDistiller``."""
from mmengine.runner import TestLoop, ValLoop

from mmkd.models.distillers import MutualLearningDistiller
from mmkd.registry import LOOPS


def _members(runner, loop):
    model = getattr(runner.model, 'module', runner.model)
    if not isinstance(model, MutualLearningDistiller):
        raise TypeError(f'mmkd.{loop} validates the members of an mmkd.MutualLearningDistiller; '
                        f'the model is {type(model).__name__}: use the default loop.')
    return model


def evaluate_members(loop, stage):
    """Runs ``loop``'s dataloader and evaluator once per member, between the hooks of ``stage``
    (``'val'`` / ``'test'``), and returns the metrics as ``<member>/<key>``, and the first
    member's also unprefixed (``save_best='auto'`` and tools that read one metric then see the
    first member)."""
    runner = loop.runner
    model = _members(runner, f'Mutual{stage.capitalize()}Loop')
    runner.call_hook(f'before_{stage}')
    runner.call_hook(f'before_{stage}_epoch')
    runner.model.eval()
    metrics = {}
    for i, name in enumerate(model.member_names):
        with model.predicting_with(name):
            for idx, data_batch in enumerate(loop.dataloader):
                loop.run_iter(idx, data_batch)
            found = loop.evaluator.evaluate(len(loop.dataloader.dataset))
        metrics.update({f'{name}/{k}': v for k, v in found.items()})
        if i == 0:
            metrics.update(found)
    runner.call_hook(f'after_{stage}_epoch', metrics=metrics)
    runner.call_hook(f'after_{stage}')
    return metrics


@LOOPS.register_module()
class MutualValLoop(ValLoop):
    """Validates each member of a ``MutualLearningDistiller`` in turn with the run's evaluator;
    the metrics are ``<member>/<metric>`` (``student2/coco/bbox_mAP``), and the first member's
    also without prefix. Per-iteration hooks see every member's batches.

    Example::

        val_cfg = dict(type='mmkd.MutualValLoop')
        default_hooks = dict(checkpoint=dict(save_best='student2/coco/bbox_mAP', rule='greater'))
    """

    def run(self):
        return evaluate_members(self, 'val')


@LOOPS.register_module()
class MutualTestLoop(TestLoop):
    """:class:`MutualValLoop` for ``runner.test()``."""

    def run(self):
        return evaluate_members(self, 'test')
