"""Validation and test of every member of a ``MutualLearningDistiller``."""
from mmengine.runner import TestLoop, ValLoop

from mmkd.registry import LOOPS


def _members(runner, loop):
    model = getattr(runner.model, 'module', runner.model)
    if not hasattr(model, 'member_names'):
        raise TypeError(f'mmkd.{loop} validates the members of an mmkd.MutualLearningDistiller; '
                        f'the model is {type(model).__name__}: use the default loop.')
    return model


def evaluate_members(loop, model):
    """Runs ``loop``'s dataloader and evaluator once per member and returns the metrics as
    ``<member>/<key>``, and the first member's also unprefixed (``save_best='auto'`` and tools
    that read one metric then see the first member)."""
    metrics = {}
    for i, name in enumerate(model.member_names):
        with model.predicting_with(name):
            for idx, data_batch in enumerate(loop.dataloader):
                loop.run_iter(idx, data_batch)
            found = loop.evaluator.evaluate(len(loop.dataloader.dataset))
        metrics.update({f'{name}/{k}': v for k, v in found.items()})
        if i == 0:
            metrics.update(found)
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
        model = _members(self.runner, 'MutualValLoop')
        self.runner.call_hook('before_val')
        self.runner.call_hook('before_val_epoch')
        self.runner.model.eval()
        metrics = evaluate_members(self, model)
        self.runner.call_hook('after_val_epoch', metrics=metrics)
        self.runner.call_hook('after_val')
        return metrics


@LOOPS.register_module()
class MutualTestLoop(TestLoop):
    """:class:`MutualValLoop` for ``runner.test()``."""

    def run(self):
        model = _members(self.runner, 'MutualTestLoop')
        self.runner.call_hook('before_test')
        self.runner.call_hook('before_test_epoch')
        self.runner.model.eval()
        metrics = evaluate_members(self, model)
        self.runner.call_hook('after_test_epoch', metrics=metrics)
        self.runner.call_hook('after_test')
        return metrics
