import os
import os.path as osp
import sys

import pytest
import torch

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

# the config paths and option builders the tests share live in tests/helpers.py
from tests.helpers import SEG_TEACHER_CFG, TEACHER_CFG  # noqa: E402

torch.set_num_threads(min(2, os.cpu_count() or 1))


def pytest_configure(config):
    config.addinivalue_line(
        'markers', 'heavy: builds every config or trains through the tools (minutes); the '
        'README\'s test command and CI run them, `pytest -m "not heavy"` skips them')


@pytest.fixture(scope='module', autouse=True)
def _restore_default_scope():
    """A runner leaves its default scope (mmdet / mmseg) current for the whole process; tests in
    later modules that build models by name must not depend on which runs came before."""
    from mmengine.registry import DefaultScope
    before = set(DefaultScope._instance_dict)
    yield
    for name in set(DefaultScope._instance_dict) - before:
        del DefaultScope._instance_dict[name]


@pytest.fixture(scope='session')
def demo_data(tmp_path_factory):
    """A tiny copy of the demo dataset: 16 train and 8 val images; the student splits are the
    first 8 train images (detection) and the first 4 (segmentation)."""
    from tools.dataset.make_demo_data import build
    out = str(tmp_path_factory.mktemp('mmkd_demo'))
    build(out, num_train=16, num_val=8, student_images=8, seg_student_images=4, progress=False)
    return out


@pytest.fixture(scope='session')
def teacher_ckpt(tmp_path_factory):
    """A teacher checkpoint: the demo teacher's randomly initialised weights (seeded)."""
    import mmkd  # noqa: F401
    from mmengine.config import Config
    from mmkd.models.distillers.build import build_model
    torch.manual_seed(0)
    cfg = Config.fromfile(TEACHER_CFG)
    model = build_model(cfg.model, 'mmdet')
    path = str(tmp_path_factory.mktemp('teacher') / 'teacher.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


@pytest.fixture(scope='session')
def seg_teacher_ckpt(tmp_path_factory):
    """A segmentation teacher checkpoint: the demo PSPNet teacher's random weights (seeded)."""
    import mmkd  # noqa: F401
    from mmengine.config import Config
    from mmkd.models.distillers.build import build_model
    torch.manual_seed(0)
    model = build_model(Config.fromfile(SEG_TEACHER_CFG).model, 'mmseg')
    path = str(tmp_path_factory.mktemp('seg_teacher') / 'teacher.pth')
    torch.save(dict(state_dict=model.state_dict()), path)
    return path
