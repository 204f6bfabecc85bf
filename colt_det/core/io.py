"""Atomic file writes: a temp file in the same folder, fsynced, then linked or renamed in place.

A crash (a killed process) leaves either the old file or the complete new one, never half of
one. ``overwrite=False`` creates the name with ``link()``, which fails if it exists, so two
writers racing for the same file cannot both win. After the rename the folder itself is
fsynced too, so the new name survives a power loss, not only a killed process.
"""
import errno
import json
import os
import tempfile
from contextlib import contextmanager


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str, data: bytes, overwrite: bool = False) -> None:
    """Write ``data`` to ``path`` via a temp file in the same directory + link/rename.

    Args:
        path (str): the file to write; its folder is created if missing.
        data (bytes): the whole content.
        overwrite (bool): replace an existing file (``os.replace``); without it an existing
            file is a FileExistsError and nothing is written.

    The file gets the permissions of an ordinary new file (``0666`` less the umask), not the
    temp file's ``0600``. An OSError (unwritable folder, disk full) names ``path``.
    """
    path = os.path.abspath(path)
    folder = os.path.dirname(path)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f'{path} exists and is never overwritten: choose another path')
    try:
        os.makedirs(folder, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise NotADirectoryError(errno.ENOTDIR, 'a folder on this path is a file', path) from None
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix='.tmp.')
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        if overwrite:
            os.replace(tmp, path)
        else:
            # link() fails if the target appeared meanwhile: no race overwrites a ticket
            os.link(tmp, path)
            os.unlink(tmp)
        fsync_dir(folder)
    except BaseException as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and not isinstance(e, FileExistsError) and e.errno:
            raise OSError(e.errno, os.strerror(e.errno), path) from None
        raise


@contextmanager
def written_through_temp(path: str, overwrite: bool = False):
    """For a writer that only takes a file name (``torch.onnx.export``, onnxruntime's
    quantizer): yields a temp path beside ``path``; once the block ends the file becomes
    ``path`` atomically (:func:`atomic_write_bytes`); the temp file is removed either way."""
    tmp = os.path.join(os.path.dirname(os.path.abspath(path)),
                       f'.tmp.{os.getpid()}.{os.path.basename(path)}')
    try:
        yield tmp
        with open(tmp, 'rb') as f:
            atomic_write_bytes(path, f.read(), overwrite=overwrite)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_json(path: str, obj, overwrite: bool = True) -> None:
    atomic_write_bytes(path, json.dumps(obj, indent=2).encode('utf-8'), overwrite=overwrite)


def update_json(path: str, **values) -> None:
    """Merge ``values`` into the JSON object at ``path`` (created if missing), atomically."""
    data = read_json(path)
    data.update(values)
    atomic_write_json(path, data)


def read_json(path: str) -> dict:
    """The JSON object in ``path``; ``{}`` if there is no such file yet.

    An empty or corrupt file (a copy that lost its end, a hand edit) is an error naming it.
    """
    if not os.path.exists(path):
        return {}
    with open(path, encoding='utf-8') as f:
        text = f.read()
    try:
        data = json.loads(text)
    except ValueError:
        raise ValueError(f'{path} is empty or not valid JSON ({len(text)} bytes): it is '
                         f'corrupt; restore it, or delete it to redo the step that wrote it') \
            from None
    if not isinstance(data, dict):
        raise ValueError(f'{path} holds a JSON {type(data).__name__}, not an object: it is '
                         f'corrupt; delete it to redo the step that wrote it')
    return data


def fsync_dir(path: str) -> None:
    """Make a rename or link inside folder ``path`` durable (no-op where folders cannot be
    opened, e.g. on Windows)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def relative_paths(x, root: str):
    """``x`` (a JSON value) with every path under ``root`` made relative to it: a recorded
    JSON must work from any clone, wherever its work roots are."""
    if isinstance(x, dict):
        return {k: relative_paths(v, root) for k, v in x.items()}
    if isinstance(x, list):
        return [relative_paths(v, root) for v in x]
    if isinstance(x, str) and x.startswith(root.rstrip(os.sep) + os.sep):
        return os.path.relpath(x, root)
    return x


def resolve_path(path: str, root: str) -> str:
    """A recorded path: as it is when absolute, else under ``root``."""
    return path if os.path.isabs(path) else os.path.join(root, path)
