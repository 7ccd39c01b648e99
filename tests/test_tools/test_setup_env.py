"""tools/setup_env.sh on a machine with a GPU says what it will build before it builds anything
(here the stack is in place, so it then only checks it)."""
import os
import os.path as osp
import subprocess
import sys

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
SCRIPT = osp.join(ROOT, 'tools', 'setup_env.sh')


def run_setup(tmp_path, **env):
    """The script with a stand-in ``nvidia-smi`` on PATH and this test run's venv."""
    bin_dir = tmp_path / 'bin'
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / 'nvidia-smi'
    fake.write_text('#!/bin/sh\nexit 0\n')
    fake.chmod(0o755)
    full_env = dict(os.environ, PATH=f'{bin_dir}:{os.environ["PATH"]}', MMKD_VENV=sys.prefix,
                    **env)
    return subprocess.run(['bash', SCRIPT], env=full_env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason='needs the set-up venv')
def test_gpu_machine_is_told_what_is_built_first(tmp_path):
    out = run_setup(tmp_path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith('[setup] GPU found: this script installs the CPU-tested stack')
    assert 'FORCE_CUDA=0' in lines[0] and 'MMKD_FORCE_CUDA=1' in lines[0]
    forced = run_setup(tmp_path, MMKD_FORCE_CUDA='1').stdout.splitlines()
    assert forced[0].startswith("[setup] GPU found and MMKD_FORCE_CUDA=1: mmcv 2.1.0's CUDA ops")
