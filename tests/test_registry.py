import pytest
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope

from mmkd.models.distillers import DetectionDistiller
from mmkd.models.losses import LogitKDLoss
from mmkd.registry import DATASETS, HOOKS, METRICS, MODELS, TRANSFORMS
from mmkd.version_check import stack_problems


def test_scoped_name_from_mmdet_scope():
    """type='mmkd.X' resolves from a runner whose default scope is mmdet."""
    with DefaultScope.overwrite_default_scope('mmdet'):
        assert MMENGINE_MODELS.get('mmkd.DetectionDistiller') is DetectionDistiller
        assert MMENGINE_MODELS.get('mmkd.LogitKDLoss') is LogitKDLoss


def test_default_scope_mmkd_finds_mmdet_types():
    from mmdet.datasets import CocoDataset
    from mmdet.evaluation import CocoMetric
    from mmdet.models import RetinaNet
    assert MODELS.scope == 'mmkd' and MODELS.parent is MMENGINE_MODELS
    assert DATASETS.get('CocoDataset') is CocoDataset
    assert METRICS.get('CocoMetric') is CocoMetric
    assert MODELS.get('RetinaNet') is RetinaNet
    assert MODELS.get('LogitKDLoss') is LogitKDLoss
    # mmdet's own LoadAnnotations, as mmdet resolves it, not mmcv's generic one.
    from mmdet.datasets.transforms import LoadAnnotations
    assert TRANSFORMS.get('LoadAnnotations') is LoadAnnotations
    with DefaultScope.overwrite_default_scope('mmkd'):
        assert MMENGINE_DATASETS.build(dict(type='CocoDataset', lazy_init=True,
                                            ann_file='none.json')).__class__ is CocoDataset
    assert HOOKS.get('NoSuchHook') is None


def test_stack_problems_name_versions():
    ok = {'mmengine': '0.10.7', 'mmcv': '2.1.0', 'mmdet': '3.3.0', 'mmsegmentation': '1.2.2'}
    assert stack_problems(ok) == []
    bad = dict(ok, mmcv='2.2.0', mmdet=None, mmsegmentation='0.30.0')
    problems = stack_problems(bad)
    assert any('mmcv 2.2.0 is installed; mmkd needs mmcv>=2.0.0rc4,<2.2.0' in p
               for p in problems)
    assert any('mmdet is not installed' in p for p in problems)
    assert any('mmsegmentation 0.30.0' in p for p in problems)
    assert any('without its compiled ops' in p for p in stack_problems(ok, has_mmcv_ops=False))
    # mmseg is optional: a detection-only install passes.
    assert stack_problems({k: v for k, v in ok.items() if k != 'mmsegmentation'}) == []


def test_import_error_message(monkeypatch):
    import mmkd.version_check as vc
    monkeypatch.setattr(vc, 'installed_versions', lambda: {'mmengine': '0.9.0', 'mmcv': '2.1.0',
                                                           'mmdet': '3.3.0'})
    with pytest.raises(ImportError, match=r'(?s)mmengine 0\.9\.0.*tools/setup_env\.sh'):
        vc.check_stack()
