"""Checks that the installed OpenMMLab stack is one mmkd works with (see DESIGN.md)."""
import importlib.util
from importlib.metadata import PackageNotFoundError, version

from packaging.version import Version

# package -> (lowest accepted, first refused); the stack mmkd is tested with is in
# requirements/constraints.txt.
REQUIRED = {
    'mmengine': ('0.10.0', '0.11.0'),
    'mmcv': ('2.0.0rc4', '2.2.0'),
    'mmdet': ('3.0.0', '3.4.0'),
}
OPTIONAL = {'mmsegmentation': ('1.0.0', '1.3.0')}
INSTALL_HINT = ('Install the tested stack with `bash tools/setup_env.sh` (torch 2.13.0, mmengine '
                '0.10.7, mmcv 2.1.0 built with ops, mmdet 3.3.0, mmsegmentation 1.2.2).')


def installed_versions():
    """Returns {package: version string or None} for the packages mmkd checks."""
    found = {}
    for name in (*REQUIRED, *OPTIONAL):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    # mmcv-lite installs the `mmcv` module without its compiled ops (no NMS, no RoIAlign).
    if found['mmcv'] is None:
        try:
            found['mmcv'] = version('mmcv-lite')
            found['mmcv-lite'] = True
        except PackageNotFoundError:
            pass
    return found


def stack_problems(found, has_mmcv_ops=True):
    """Lists what is wrong with the versions in ``found`` ({package: version or None})."""
    problems = []
    for name, (low, high) in {**REQUIRED, **OPTIONAL}.items():
        have = found.get(name)
        if have is None:
            if name in REQUIRED:
                problems.append(f'{name} is not installed; mmkd needs {name}>={low},<{high}.')
        elif not Version(low) <= Version(have) < Version(high):
            problems.append(f'{name} {have} is installed; mmkd needs {name}>={low},<{high}.')
    if found.get('mmcv-lite') or (found.get('mmcv') and not has_mmcv_ops):
        problems.append('mmcv is installed without its compiled ops (mmcv-lite?); detectors need '
                        'NMS and RoIAlign: build mmcv 2.1.0 from source with MMCV_WITH_OPS=1.')
    return problems


def check_stack():
    """Raises ImportError naming every incompatible package and how to install the right one."""
    found = installed_versions()
    has_ops = importlib.util.find_spec('mmcv._ext') is not None if found.get('mmcv') else False
    problems = stack_problems(found, has_ops)
    if problems:
        raise ImportError('mmkd cannot run with the installed packages:\n  - ' +
                          '\n  - '.join(problems) + '\n' + INSTALL_HINT)
