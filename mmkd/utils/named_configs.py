"""``mmkd::`` config names.

MMEngine resolves ``<scope>::<path>`` for the packages listed in
``mmengine.config.utils.MODULE2PACKAGE`` (``mmdet``, ``mmseg`` ...) to
``<package>/.mim/configs/<path>``. mmkd ships its configs and tools there (``mmkd/.mim``: links
to the repo's ``configs/`` and ``tools/`` in a checkout, copies in a wheel), and
:func:`register_config_scope` adds ``mmkd`` to that table when mmkd is imported.

MMEngine 0.10 finds a package's folder beside its ``dist-info`` (``get_installed_path``). An
editable install (``pip install -e .``, PEP 660) leaves the package in the checkout, so MMEngine
would look in ``site-packages/mmkd``, which does not exist. For ``mmkd`` alone (every other package
goes to MMEngine's own function), the folder is that of the mmkd that is imported.
"""
import functools
import os.path as osp

#: the folder of the imported mmkd package (in a checkout or in site-packages)
PACKAGE_DIR = osp.dirname(osp.dirname(osp.abspath(__file__)))


def installed_path_with_mmkd(get_installed_path):
    """``get_installed_path`` that answers :data:`PACKAGE_DIR` for ``'mmkd'``."""
    if getattr(get_installed_path, 'mmkd_aware', False):
        return get_installed_path

    @functools.wraps(get_installed_path)
    def wrapped(package):
        return PACKAGE_DIR if package == 'mmkd' else get_installed_path(package)
    wrapped.mmkd_aware = True
    return wrapped


def register_config_scope():
    """Lets MMEngine resolve ``mmkd::`` config names (idempotent)."""
    from mmengine.config import config as config_module
    from mmengine.config import utils
    from mmengine.hub import hub
    utils.MODULE2PACKAGE.setdefault('mmkd', 'mmkd')
    for module in (config_module, hub):  # the two callers of get_installed_path
        module.get_installed_path = installed_path_with_mmkd(module.get_installed_path)


def register_all_modules(init_default_scope=False):
    """Registers every mmkd module (``import mmkd`` does; this is the function OpenMMLab packages
    offer, which MMEngine calls for a registry of a scope in ``MODULE2PACKAGE`` that sets no
    import location).

    Args:
        init_default_scope (bool): also make ``mmkd`` the default registry scope. Defaults to
            False: mmkd configs run in the scope of their student (``mmdet`` or ``mmseg``).
    """
    import mmkd.engine  # noqa: F401
    import mmkd.models  # noqa: F401
    if init_default_scope:
        import datetime
        from mmengine.registry import DefaultScope
        current = DefaultScope.get_current_instance()
        if current is None or current.scope_name != 'mmkd':
            DefaultScope.get_instance(f'mmkd-{datetime.datetime.now()}', scope_name='mmkd')
