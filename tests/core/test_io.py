"""The atomic writes' promises at the level of the system calls (docs/guarantees.md, "Safe
files"): each test fails when the call it names is removed from ``colt_det/core/io.py``."""
import errno
import os
import stat

import pytest

from colt_det.core import io


def test_an_atomic_write_fsyncs_the_file_then_its_folder(tmp_path, monkeypatch):
    """The data is fsynced before the link, the folder after it (so the new name survives a
    power loss). Fails if ``fsync_dir`` (or the file's fsync) is dropped."""
    synced = []
    real = os.fsync

    def record(fd):
        synced.append('folder' if stat.S_ISDIR(os.fstat(fd).st_mode) else 'file')
        real(fd)
    monkeypatch.setattr(io.os, 'fsync', record)
    io.atomic_write_bytes(str(tmp_path / 'a.bin'), b'x')
    assert synced == ['file', 'folder']
    synced.clear()
    io.atomic_write_bytes(str(tmp_path / 'a.bin'), b'y', overwrite=True)  # a replace too
    assert synced == ['file', 'folder']


@pytest.mark.parametrize('call', ['mkstemp', 'link'])
def test_an_unwritable_folder_is_one_error_naming_the_file_even_as_root(tmp_path, monkeypatch,
                                                                         call):
    """A folder the OS refuses to write into (EACCES at the temp file or at the link): an
    OSError naming the target, no temp file left, no target. Root can write anywhere, so the
    refusal is the OS's answer injected at the call (this runs where CI runs, as root); the
    real chmod case is the export test in tests/search/test_reliability.py. Fails if the temp
    file is not removed or the error names the temp file instead of the target."""
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, 'Permission denied', str(tmp_path))
    if call == 'mkstemp':
        monkeypatch.setattr(io.tempfile, 'mkstemp', refuse)
    else:
        monkeypatch.setattr(io.os, 'link', refuse)
    target = tmp_path / 'ticket.safetensors'
    with pytest.raises(OSError) as e:
        io.atomic_write_bytes(str(target), b'x')
    assert e.value.errno == errno.EACCES and e.value.filename == str(target)
    assert os.listdir(tmp_path) == []


def test_an_unwritable_work_dir_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    """``check_writable`` asks the OS (``os.access``); as root every folder is writable, so the
    OS's "no" is injected. Fails if the check is removed or stops naming the folder."""
    from colt_det.errors import SearchError
    from colt_det.search import workdir
    ro = tmp_path / 'ro'
    ro.mkdir()
    monkeypatch.setattr(workdir.os, 'access', lambda path, mode: str(path) != str(ro))
    with pytest.raises(SearchError, match='is not writable'):
        workdir.check_writable(str(ro / 'search'))
    assert os.listdir(ro) == []


def test_a_stage_record_has_one_typed_reader_and_writer(tmp_path):
    """result.json is read as a StageRecord: the fields it holds, ``done`` once ``seconds`` is
    written (the stage's commit), the test metric before the validation's; a key that is no
    field is refused by the writer and named by the reader (a typo no longer reads as None)."""
    import json

    from colt_det.runtime.records import StageRecord, write_stage_record
    path = str(tmp_path / 'result.json')
    assert not StageRecord.read(path).done  # nothing written yet
    write_stage_record(path, metrics={'acc': 0.5})
    assert not StageRecord.read(path).done and StageRecord.read(path).metric('acc') == 0.5
    write_stage_record(path, test_metrics={'acc': 0.75}, iters=3, seconds=1.5)
    record = StageRecord.read(path)
    assert record.done and record.metric('acc') == 0.75 and record.metrics == {'acc': 0.5}
    with pytest.raises(TypeError, match='secnds'):
        write_stage_record(path, secnds=2.0)
    with open(path, 'w') as f:
        json.dump({'seconds': 1.0, 'sparsty': 0.5}, f)
    with pytest.raises(ValueError, match='sparsty'):
        StageRecord.read(path)
