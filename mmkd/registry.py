"""mmkd's registries: children of MMEngine's root registries, scope ``'mmkd'``.

``type='mmkd.X'`` works from any default scope. With ``default_scope='mmkd'`` a name that mmkd
does not register (``CocoDataset``, ``RetinaNet``, ``CocoMetric`` ...) is looked up in mmdet's
registries (and the MMEngine / mmcv names they see), then in mmseg's, so a detection config can
switch its default scope to mmkd and keep every mmdet type it names. Segmentation configs should
keep ``default_scope='mmseg'``: mmdet and mmseg both register some names (``LoadAnnotations``).
"""
from importlib import import_module

from mmengine import registry as mme
from mmengine.registry import Registry


class KDRegistry(Registry):
    """A registry whose unscoped look-ups go: mmkd's own names, then mmdet's registry (which
    includes MMEngine's and mmcv's root entries), then mmseg's.

    mmdet's registry comes before MMEngine's root so that, as in mmdet itself, mmdet's
    ``LoadAnnotations`` wins over mmcv's generic one.
    """

    FALLBACK_SCOPES = ('mmdet', 'mmseg')

    def get(self, key):
        if not isinstance(key, str):
            return super().get(key)
        scope, real_key = self.split_scope_key(key)
        self.import_from_location()
        if scope is not None or real_key in self._module_dict:
            return super().get(key)
        root = self._get_root_registry()
        for fallback in self.FALLBACK_SCOPES:
            try:
                import_module(f'{fallback}.registry')
            except ImportError:
                continue
            sibling = root._children.get(fallback)
            obj = sibling.get(key) if sibling is not None else None
            if obj is not None:
                return obj
        return super().get(key)


RUNNERS = KDRegistry('runner', parent=mme.RUNNERS, scope='mmkd')
RUNNER_CONSTRUCTORS = KDRegistry('runner constructor', parent=mme.RUNNER_CONSTRUCTORS, scope='mmkd')
LOOPS = KDRegistry('loop', parent=mme.LOOPS, scope='mmkd', locations=['mmkd.engine'])
HOOKS = KDRegistry('hook', parent=mme.HOOKS, scope='mmkd', locations=['mmkd.engine'])
DATASETS = KDRegistry('dataset', parent=mme.DATASETS, scope='mmkd')
DATA_SAMPLERS = KDRegistry('data sampler', parent=mme.DATA_SAMPLERS, scope='mmkd')
TRANSFORMS = KDRegistry('transform', parent=mme.TRANSFORMS, scope='mmkd')
MODELS = KDRegistry('model', parent=mme.MODELS, scope='mmkd', locations=['mmkd.models'])
MODEL_WRAPPERS = KDRegistry('model_wrapper', parent=mme.MODEL_WRAPPERS, scope='mmkd')
WEIGHT_INITIALIZERS = KDRegistry('weight initializer', parent=mme.WEIGHT_INITIALIZERS, scope='mmkd')
OPTIMIZERS = KDRegistry('optimizer', parent=mme.OPTIMIZERS, scope='mmkd')
OPTIM_WRAPPERS = KDRegistry('optim_wrapper', parent=mme.OPTIM_WRAPPERS, scope='mmkd')
OPTIM_WRAPPER_CONSTRUCTORS = KDRegistry(
    'optimizer wrapper constructor', parent=mme.OPTIM_WRAPPER_CONSTRUCTORS, scope='mmkd')
PARAM_SCHEDULERS = KDRegistry('parameter scheduler', parent=mme.PARAM_SCHEDULERS, scope='mmkd')
METRICS = KDRegistry('metric', parent=mme.METRICS, scope='mmkd')
EVALUATOR = KDRegistry('evaluator', parent=mme.EVALUATOR, scope='mmkd')
TASK_UTILS = KDRegistry('task util', parent=mme.TASK_UTILS, scope='mmkd')
VISUALIZERS = KDRegistry('visualizer', parent=mme.VISUALIZERS, scope='mmkd')
VISBACKENDS = KDRegistry('vis_backend', parent=mme.VISBACKENDS, scope='mmkd')
LOG_PROCESSORS = KDRegistry('log_processor', parent=mme.LOG_PROCESSORS, scope='mmkd')
INFERENCERS = KDRegistry('inferencer', parent=mme.INFERENCERS, scope='mmkd')
FUNCTIONS = KDRegistry('function', parent=mme.FUNCTIONS, scope='mmkd')
