"""The installed commands (``colt-train``, ``colt-test``, ``colt-export``, ``colt-compare``,
``colt-eval-series``) and what they share: one error boundary, config loading.

Every command is a module here with ``main(argv) -> exit code``; ``tools/*.py`` call the same
``main`` from a checkout.
"""
import errno
import os.path as osp
import pickle
import sys
from typing import Callable, Optional

from ..core import TicketError
from ..errors import NonFiniteLossError, PartitionJobError, SearchError

# Errors that mean "bad input": reported in one line, no traceback, non-zero exit.
USER_ERRORS = (ValueError, FileNotFoundError, FileExistsError, TicketError,
               pickle.UnpicklingError)
# OS errors about a path the user chose (unwritable, too long, ...): one line naming the path.
_PATH_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR,
                errno.ENAMETOOLONG, errno.ENOSPC, errno.ENOENT, errno.EEXIST}


def one_line(e: BaseException) -> str:
    """The message of ``e`` as one line (a dataloader worker's error: the original message)."""
    full = disk_full(e)
    if full is not None:
        return full
    text = str(e).strip()
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return type(e).__name__
    if lines[0].startswith('Caught ') and 'worker' in lines[0]:
        last = lines[-1]  # "ValueError: <message>" of the worker's traceback
        return last.split(': ', 1)[1] if ': ' in last else last
    if isinstance(e, OSError) and e.filename and e.strerror:
        fix = 'check the path' if e.errno == errno.ENOENT else 'choose another path'
        return f'{e.filename}: {e.strerror}: {fix}'
    return lines[0]


def disk_full(e: BaseException) -> Optional[str]:
    """'disk full' in one line, whoever raised it (our writes name the file; torch's and
    MMEngine's checkpoint writes say it in their own words)."""
    while e is not None:
        if (isinstance(e, OSError) and e.errno == errno.ENOSPC) or \
                'No space left on device' in str(e):
            where = f' writing {e.filename}' if getattr(e, 'filename', None) else ''
            return (f'the disk is full{where}: free some space, then rerun the same command '
                    f'(with --resume for a search: finished files are kept)')
        e = e.__cause__ or e.__context__
    return None


def _is_user_error(e: BaseException) -> bool:
    if isinstance(e, (SearchError, NonFiniteLossError, PartitionJobError) + USER_ERRORS):
        return True
    if disk_full(e) is not None:
        return True
    return isinstance(e, OSError) and e.errno in _PATH_ERRNOS and bool(e.filename)


def guarded(body: Callable[[], int], debug: bool = False) -> int:
    """Run a tool's body; a known error becomes ``error: <one line>`` and exit code 1.

    Anything else is a bug and keeps its traceback; ``debug=True`` (``--debug``) shows the
    traceback of known errors too.
    """
    from ..runtime.safe_load import allow_checkpoint_types
    allow_checkpoint_types()  # every tool may resume or evaluate MMEngine checkpoints
    try:
        return body()
    except Exception as e:  # noqa: BLE001  (sorted into user errors and bugs below)
        if debug or not _is_user_error(e):
            raise
        print(f'error: {one_line(e)}', file=sys.stderr)
        return 1


def refuse_existing(path: Optional[str], force: bool) -> None:
    """Outputs are never overwritten unless the user says ``--force``."""
    if path and osp.exists(path) and not force:
        raise FileExistsError(f'{path} exists and is not overwritten: choose another path or '
                              f'pass --force')


def configs_dir() -> str:
    """colt_det's configs: a checkout's ``configs/`` (beside ``setup.py``), else the copy an
    installed package ships (``colt_det/.mim/configs``, as MMDetection ships its own)."""
    package = osp.dirname(osp.dirname(osp.abspath(__file__)))
    checkout = osp.dirname(package)
    if osp.isfile(osp.join(checkout, 'setup.py')) and osp.isdir(osp.join(checkout, 'configs')):
        return osp.join(checkout, 'configs')
    return osp.join(package, '.mim', 'configs')


def config_path(path: str) -> str:
    """``colt_det::name.py`` -> the shipped config; anything else is a file path."""
    if path.startswith('colt_det::'):
        return osp.join(configs_dir(), path[len('colt_det::'):])
    return path


def enable_config_prefix() -> None:
    """Let MMEngine resolve ``_base_ = ['colt_det::_base_/det_runtime.py']`` in user configs
    (MMEngine knows the OpenMMLab packages only). The commands call it; a script of yours that
    loads such a config with ``Config.fromfile`` calls it first."""
    from mmengine.config import config, utils
    utils.MODULE2PACKAGE.setdefault('colt_det', 'colt_det')
    if not getattr(config.get_installed_path, 'colt_det', False):
        config.get_installed_path = _installed_path(config.get_installed_path)
        config._get_package_and_cfg_path = _top_level_names(config._get_package_and_cfg_path)


def _top_level_names(original):
    """MMEngine's parser of ``pkg::path`` that also takes ``colt_det::NAME.py`` (colt_det's
    configs sit at the top of ``configs/``; MMEngine wants a ``folder/`` in the path)."""
    def parse(cfg_path: str):
        if cfg_path.startswith('colt_det::') and cfg_path.count('::') == 1:
            return 'colt_det', cfg_path.split('::', 1)[1]
        return original(cfg_path)
    return parse


def _installed_path(original):
    """MMEngine's ``get_installed_path`` that also finds colt_det's configs in an editable
    install: there the package is the checkout's ``colt_det/`` (no ``.mim``), while MMEngine
    looks in site-packages; a per-user folder then holds ``.mim`` pointing at the checkout's
    ``configs/`` (what OpenMMLab's develop mode links into the source tree)."""
    import hashlib
    import os
    import tempfile

    def get_installed_path(package: str) -> str:
        if package != 'colt_det':
            return original(package)
        here = osp.dirname(osp.dirname(osp.abspath(__file__)))
        if osp.isfile(osp.join(here, '.mim', 'model-index.yml')):
            return here  # an installed copy: its configs ship inside it
        mim_root = osp.join(tempfile.gettempdir(), f'colt_det_mim_{os.getuid()}',
                            hashlib.sha1(configs_dir().encode()).hexdigest()[:12])
        mim = osp.join(mim_root, '.mim')
        os.makedirs(mim, exist_ok=True)
        if not osp.exists(osp.join(mim, 'configs')):
            try:
                os.symlink(configs_dir(), osp.join(mim, 'configs'))
            except FileExistsError:
                pass  # another process made it
        if not osp.exists(osp.join(mim, 'model-index.yml')):
            from ..core import atomic_write_bytes
            try:  # written whole, once (MMEngine reads it first: no model zoo here)
                atomic_write_bytes(osp.join(mim, 'model-index.yml'), b'Import: []\n')
            except FileExistsError:
                pass  # another process wrote it
        return mim_root
    get_installed_path.colt_det = True
    return get_installed_path


def load_config(path: str, options: Optional[dict] = None):
    """The config at ``path`` (or ``colt_det::name.py``) with ``--cfg-options`` merged.

    Raises:
        FileNotFoundError / ValueError: one line naming the file and what is wrong (missing,
            not valid Python, a missing ``_base_``).
    """
    from mmengine.config import Config
    enable_config_prefix()
    real = config_path(path)
    if not osp.isfile(real):
        where = 'colt_det\'s configs (colt_det::NAME.py)' if path.startswith('colt_det::') \
            else 'configs/'
        raise FileNotFoundError(f'config {path} not found: pass a file from {where}')
    try:
        cfg = Config.fromfile(real)
    except SyntaxError as e:
        raise ValueError(f'config {path} is not valid Python ({e.msg}, line {e.lineno} of '
                         f'{e.filename}): fix it') from None
    except FileNotFoundError as e:
        raise FileNotFoundError(f'config {path} inherits a file that does not exist '
                                f'({one_line(e)}): fix its _base_') from None
    except (KeyError, TypeError, ValueError, ImportError, AttributeError) as e:
        raise ValueError(f'config {path} cannot be loaded ({type(e).__name__}: '
                         f'{one_line(e)}): fix it') from None
    if options:
        cfg.merge_from_dict(options)
    return cfg
