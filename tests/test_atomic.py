"""Staged outputs: all or nothing, earlier outputs replaced only at commit, clear errors."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from s2mask.errors import OutputError, ProductFormatError
from s2mask.io.atomic import (
    OWNER,
    STAGING_MARK,
    OutputStage,
    check_output_folder,
    final_path,
    output_errors,
    remove_stale_staging,
)
from s2mask.io.ownership import OwnerLock


def listing(folder):
    return sorted(os.listdir(folder))


def test_commit_moves_outputs_and_their_sidecars_only(tmp_path):
    with OutputStage(tmp_path, "P") as stage:
        stage.path("P_s2mask.tif").write_text("tif")
        (stage.staging / "P_s2mask.tif.aux.xml").write_text("pam")
        (stage.staging / "stray.tmp").write_text("junk")
        stage.scratch_path("intermediate.tif").write_text("scratch")
        data = stage.path("P_s2mask.data")
        data.mkdir()
        (data / "band.img").write_bytes(b"\x01")
        assert listing(tmp_path) == [stage.staging.name]  # nothing visible yet
    assert listing(tmp_path) == ["P_s2mask.data", "P_s2mask.tif", "P_s2mask.tif.aux.xml"]
    assert (tmp_path / "P_s2mask.data" / "band.img").read_bytes() == b"\x01"
    assert [p.name for p in stage.committed] == ["P_s2mask.tif.aux.xml", "P_s2mask.tif", "P_s2mask.data"]


def test_previous_outputs_survive_until_commit_then_are_replaced(tmp_path):
    (tmp_path / "P_s2mask.tif").write_text("old")
    (tmp_path / "P_s2mask.data").mkdir()
    (tmp_path / "P_s2mask.data" / "old.img").write_text("old")
    with OutputStage(tmp_path, "P") as stage:
        stage.path("P_s2mask.tif").write_text("new")
        stage.path("P_s2mask.data").mkdir()
        (stage.staging / "P_s2mask.data" / "new.img").write_text("new")
        assert (tmp_path / "P_s2mask.tif").read_text() == "old"
    assert (tmp_path / "P_s2mask.tif").read_text() == "new"
    assert listing(tmp_path / "P_s2mask.data") == ["new.img"]
    assert listing(tmp_path) == ["P_s2mask.data", "P_s2mask.tif"]


@pytest.mark.parametrize("error", [RuntimeError("boom"), KeyboardInterrupt(), ProductFormatError("bad input")])
def test_failure_leaves_nothing_new_and_keeps_old_outputs(tmp_path, error):
    (tmp_path / "P_s2mask.tif").write_text("old")
    with pytest.raises(type(error)):
        with OutputStage(tmp_path, "P") as stage:
            stage.path("P_s2mask.tif").write_text("half")
            stage.path("P_s2mask_report.json").write_text("{")
            raise error
    assert listing(tmp_path) == ["P_s2mask.tif"]
    assert (tmp_path / "P_s2mask.tif").read_text() == "old"


def test_disk_full_becomes_output_error_naming_the_final_file(tmp_path):
    with pytest.raises(OutputError, match="no space left on device") as caught:
        with OutputStage(tmp_path, "P") as stage:
            target = stage.path("P_s2mask.tif")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target))
    assert caught.value.path == tmp_path / "P_s2mask.tif"
    assert ".s2mask-partial-" not in str(caught.value)
    assert "\n" not in str(caught.value)
    assert listing(tmp_path) == []


def test_output_errors_wraps_gdal_and_os_errors_but_not_our_own(tmp_path):
    staged = tmp_path / ".P.s2mask-partial-abc" / "P_s2mask.dim"
    with pytest.raises(OutputError, match="cannot write: Write error at scanline 3 \\(disk full\\?\\)") as caught:
        with output_errors(staged):
            raise RuntimeError("Write error at scanline 3")
    assert caught.value.path == tmp_path / "P_s2mask.dim"
    assert caught.value.__cause__.__traceback__ is None
    with pytest.raises(ProductFormatError), output_errors(staged):
        raise ProductFormatError("not ours to wrap")


def test_final_path_drops_staging_and_scratch_parts(tmp_path):
    assert final_path(tmp_path / ".P.s2mask-partial-x1" / ".scratch" / "a.tif") == tmp_path / "a.tif"


def test_registered_output_that_was_never_written_fails_the_commit(tmp_path):
    with pytest.raises(OutputError, match="never written"):
        with OutputStage(tmp_path, "P") as stage:
            stage.path("P_s2mask.tif")
    assert listing(tmp_path) == []


def test_output_names_must_be_plain_and_unique(tmp_path):
    with OutputStage(tmp_path, "P") as stage:
        stage.path("a.tif").write_text("x")
        for bad in ("a.tif", "sub/b.tif", ".scratch"):
            with pytest.raises(ValueError):
                stage.path(bad)


def test_output_folder_is_created(tmp_path):
    assert check_output_folder(tmp_path / "new" / "deeper").is_dir()


def test_output_folder_below_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        check_output_folder(tmp_path / "file")
    with pytest.raises(OutputError, match="cannot create the output folder"):
        OutputStage(tmp_path / "file" / "out", "P").__enter__()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(OutputError, match="not writable"):
            OutputStage(folder, "P").__enter__()
    finally:
        folder.chmod(0o755)


def test_folder_where_files_cannot_be_created_is_refused(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(OutputError, match="cannot create files in the output folder: Permission denied"):
        OutputStage(tmp_path, "P").__enter__()


HOLD_LOCK = """
import sys, time
from s2mask.io.ownership import OwnerLock
lock = OwnerLock.acquire(sys.argv[1], wait=False)
print("held" if lock else "refused", flush=True)
time.sleep(60)
"""


def hold_lock_elsewhere(path):
    """Another process that holds the lock file ``path`` until it is killed."""
    process = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path)], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def test_stale_staging_of_a_dead_run_goes_and_of_a_live_run_stays(tmp_path):
    live, dead = (tmp_path / f".P{STAGING_MARK}{name}" for name in ("live", "dead"))
    for folder in (live, dead):
        folder.mkdir()
        (folder / "P_s2mask.tif").write_text("partial")
    (tmp_path / f".Q{STAGING_MARK}other").mkdir()  # another product's: not ours to judge
    keeper = hold_lock_elsewhere(live / OWNER)
    killed = hold_lock_elsewhere(dead / OWNER)
    try:
        killed.kill()
        killed.wait()
        with OutputStage(tmp_path, "P") as stage:
            stage.path("P_s2mask.tif").write_text("new")
            assert stage.removed_stale == 1
            assert live.is_dir() and not dead.exists()
    finally:
        keeper.kill()
        keeper.wait()
    assert remove_stale_staging(tmp_path) == 2  # the live one's owner is gone now, and Q's never had one
    assert listing(tmp_path) == ["P_s2mask.tif"]


def test_a_staging_folder_taken_for_stale_before_its_lock_is_replaced(tmp_path, monkeypatch):
    acquire = OwnerLock.acquire
    calls = []

    def cleaned_first(path, *, wait):
        calls.append(path)
        if len(calls) == 1:  # another run's clean-up got there between mkdtemp and the lock
            shutil.rmtree(Path(path).parent)
        return acquire(path, wait=wait)

    monkeypatch.setattr(OwnerLock, "acquire", cleaned_first)
    with OutputStage(tmp_path, "P") as stage:
        stage.path("P_s2mask.tif").write_text("x")
        assert stage.staging.is_dir() and len(calls) == 2
    assert listing(tmp_path) == ["P_s2mask.tif"]


def test_a_failed_run_removes_the_folders_it_created_and_only_those(tmp_path):
    (tmp_path / "kept").mkdir()
    with pytest.raises(RuntimeError):
        with OutputStage(tmp_path / "kept" / "new" / "deeper", "P") as stage:
            stage.path("P_s2mask.tif").write_text("half")
            raise RuntimeError("boom")
    assert listing(tmp_path) == ["kept"] and listing(tmp_path / "kept") == []


def test_a_lock_file_is_held_by_one_owner_and_goes_with_it(tmp_path):
    path = tmp_path / "lock"
    first = OwnerLock.acquire(path, wait=False)
    assert first is not None and OwnerLock.acquire(path, wait=False) is None
    assert "pid" in path.read_text()
    first.release()
    assert not path.exists()
    second = OwnerLock.acquire(path, wait=False)
    assert second is not None
    second.release()


def test_gdal_warnings_of_a_failed_write_are_dropped_and_kept_otherwise(tmp_path, capfd):
    from osgeo import gdal

    with output_errors(tmp_path / "P_s2mask.tif"):
        gdal.Error(gdal.CE_Warning, 1, "kept after success")
    with pytest.raises(OutputError), output_errors(tmp_path / "P_s2mask.tif"):
        gdal.Error(gdal.CE_Warning, 1, "an echo of the failure")
        raise RuntimeError("Write error")
    err = capfd.readouterr().err
    assert "kept after success" in err and "echo" not in err


def test_an_interrupt_while_the_staging_folder_is_made_leaves_nothing(tmp_path, monkeypatch):
    def interrupted(path, *, wait):
        raise KeyboardInterrupt

    monkeypatch.setattr(OwnerLock, "acquire", interrupted)
    with pytest.raises(KeyboardInterrupt):
        OutputStage(tmp_path / "new", "P").__enter__()
    assert listing(tmp_path) == []
