"""The wheel, as a user with an environment of their own installs it: built from the repo in a
temporary folder and installed into a fresh venv that already holds the stack (the repo's
``.venv`` packages, seen through a ``.pth`` file, mmkd's own left out). Nothing but mmkd is
installed, the configs resolve by ``mmkd::`` name from any folder, and ``mim train mmkd`` /
``mim test mmkd`` run the shipped tools."""
import glob
import json
import os
import os.path as osp
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile

import pytest

from tests.helpers import DISTILL_CFG, data_options

pytestmark = pytest.mark.heavy  # builds a venv and trains through mim

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
#: what the wheel ships under mmkd/.mim, by folder and file type (setup.py's package_data)
SHIPPED = {'configs': ('.py', '.md', '.json', '.txt'), 'tools': ('.py', '.sh')}
#: the fresh venv brings its own installer; mmkd's own files are what the wheel installs
NOT_IN_STACK = re.compile(r'^(mmkd|__editable__.*mmkd|_distutils_hack|distutils-precedence\.pth|'
                          r'pip|pip-.*|setuptools|setuptools-.*|pkg_resources|__pycache__)')


def run(cmd, cwd, **env):
    out = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900,
                         env=dict(os.environ, PYTHONPATH='', OMP_NUM_THREADS='1',
                                  PYTHONWARNINGS='ignore', **env))
    assert out.returncode == 0, (' '.join(cmd) + '\n' + out.stdout + out.stderr)[-4000:]
    return out.stdout


def repo_files(folder):
    return sorted(osp.relpath(p, osp.join(ROOT, folder))
                  for p in glob.glob(osp.join(ROOT, folder, '**', '*'), recursive=True)
                  if p.endswith(SHIPPED[folder]) and '__pycache__' not in p)


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    """The wheel, built from a copy of the repo's sources (no build/ or egg-info in the repo)."""
    tmp = tmp_path_factory.mktemp('wheel')
    src = tmp / 'src'
    ignore = shutil.ignore_patterns('__pycache__', '*.pyc')
    for name in ('mmkd', 'configs', 'tools', 'requirements'):
        shutil.copytree(osp.join(ROOT, name), src / name, symlinks=True, ignore=ignore)
    for name in ('setup.py', 'README.md'):
        shutil.copy(osp.join(ROOT, name), src / name)
    run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q',
         '-w', str(tmp / 'dist'), str(src)], cwd=str(tmp))
    (path,) = glob.glob(str(tmp / 'dist' / 'mmkd-*.whl'))
    return path


@pytest.fixture(scope='module')
def venv(wheel, tmp_path_factory):
    """A fresh venv whose site-packages sees the stack, with the wheel installed: (python, the
    freeze before, the freeze after, pip's output)."""
    tmp = tmp_path_factory.mktemp('venv')
    run([sys.executable, '-m', 'venv', str(tmp / 'venv')], cwd=str(tmp))
    python = str(tmp / 'venv' / 'bin' / 'python')
    stack = tmp / 'stack'
    stack.mkdir()
    for entry in os.listdir(sysconfig.get_paths()['purelib']):
        if not NOT_IN_STACK.match(entry):
            os.symlink(osp.join(sysconfig.get_paths()['purelib'], entry), stack / entry)
    site = run([python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
               cwd=str(tmp)).strip()
    with open(osp.join(site, 'stack.pth'), 'w') as f:
        f.write(str(stack) + '\n')
    freeze = [python, '-m', 'pip', 'freeze', '--disable-pip-version-check']
    before = run(freeze, cwd=str(tmp)).splitlines()
    # --no-index: a requirement the stack does not satisfy fails here instead of downloading
    installed = run([python, '-m', 'pip', 'install', '--no-index', '--no-build-isolation',
                     '--disable-pip-version-check', wheel], cwd=str(tmp))
    after = run(freeze, cwd=str(tmp)).splitlines()
    return python, before, after, installed


def test_the_wheel_ships_every_config_and_tool(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for folder in SHIPPED:
        prefix = f'mmkd/.mim/{folder}/'
        shipped = sorted(n[len(prefix):] for n in names if n.startswith(prefix))
        assert shipped == repo_files(folder), folder
    assert 'mmkd/.mim/model-index.yml' in names
    # files, not links: the content of the repo's config
    with zipfile.ZipFile(wheel).open('mmkd/.mim/configs/demo/' + osp.basename(DISTILL_CFG)) as f:
        assert f.read() == open(DISTILL_CFG, 'rb').read()


def test_installing_adds_mmkd_and_nothing_else(venv):
    _, before, after, installed = venv
    assert sorted(set(after) - set(before)) == [l for l in after if l.startswith('mmkd ')]
    assert set(before) <= set(after)  # nothing upgraded or removed
    assert re.search(r'Successfully installed mmkd-0\.1\.0\s*$', installed)


def test_configs_resolve_by_name_from_any_folder(venv, tmp_path):
    python = venv[0]
    user_cfg = tmp_path / 'my_distill.py'
    user_cfg.write_text("_base_ = ['mmkd::fgd/fgd_retinanet-r50_retinanet-x101_2x_coco.py']\n"
                        "model = dict(kd_terms=dict(fgd=dict(loss=dict(alpha_fgd=1e-5))))\n")
    script = f"""
import glob, json, os.path as osp
import mmkd
from mmengine.config import Config
from mmengine.hub import get_config
root = osp.join(osp.dirname(mmkd.__file__), '.mim', 'configs')
names = sorted(osp.relpath(p, root) for p in glob.glob(osp.join(root, '*', '*.py')))
# resolved by name: the first config of each folder (parsing all of them takes a minute)
firsts = sorted({{osp.dirname(n): n for n in reversed(names)}}.values())
files = [get_config('mmkd::' + name).filename for name in firsts]
user = Config.fromfile({str(user_cfg)!r})
print(json.dumps(dict(mmkd=mmkd.__file__, names=names, firsts=firsts, files=files,
                      type=user.model.type,
                      alpha=user.model.kd_terms.fgd.loss.alpha_fgd,
                      teacher=user.model.teacher.config)))
"""
    result = json.loads(run([python, '-c', script], cwd=str(tmp_path)).splitlines()[-1])
    site = osp.dirname(osp.dirname(result['mmkd']))
    assert site.startswith(osp.dirname(osp.dirname(python)))  # the wheel's mmkd, not the repo's
    # every method and demo config of the repo, by name, from the installed package
    expected = sorted(osp.relpath(p, osp.join(ROOT, 'configs'))
                      for p in glob.glob(osp.join(ROOT, 'configs', '*', '*.py')))
    assert result['names'] == expected and len(expected) > 50
    folders = sorted({osp.dirname(n) for n in expected})
    assert [osp.dirname(n) for n in result['firsts']] == folders and len(folders) > 20
    assert result['files'] == [osp.join(site, 'mmkd', '.mim', 'configs', n)
                               for n in result['firsts']]
    assert result['type'] == 'mmkd.DetectionDistiller' and result['alpha'] == 1e-5
    assert result['teacher'] == 'mmdet::retinanet/retinanet_x101-64x4d_fpn_1x_coco.py'


def test_mim_train_and_test_run_the_shipped_tools(venv, demo_data, teacher_ckpt, tmp_path):
    python = venv[0]
    opts = data_options(demo_data, epochs=1, batch_size=4)
    opts['model.teacher.checkpoint'] = teacher_ckpt
    opts.pop('param_scheduler')
    cfg_options = ['--cfg-options'] + [f'{k}={v}' for k, v in opts.items()]
    name = osp.basename(DISTILL_CFG)  # mim finds the config in the installed package by name
    work_dir = tmp_path / 'mim_train'
    out = run([python, '-m', 'mim', 'train', 'mmkd', name, '--work-dir', str(work_dir),
               *cfg_options], cwd=str(tmp_path))
    assert 'site-packages/mmkd/.mim/tools/train.py' in out  # the wheel's tool
    ckpt = str(work_dir / 'epoch_1.pth')

    def evaluate(cmd, folder):
        out = tmp_path / folder
        run(cmd + ['--work-dir', str(out), *cfg_options,
                   f'test_evaluator.outfile_prefix={out}/dets'], cwd=str(tmp_path))
        with open(out / 'dets.bbox.json') as f:
            return json.load(f)
    theirs = evaluate([python, '-m', 'mim', 'test', 'mmkd', name, '--checkpoint', ckpt], 'mim')
    ours = evaluate([sys.executable, osp.join(ROOT, 'tools', 'test.py'), DISTILL_CFG, ckpt],
                    'ours')
    # the same student on the same images: the same detections from mim's run as from ours
    assert len(ours) > 0
    assert theirs == ours
