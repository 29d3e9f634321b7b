"""Outputs that appear complete or not at all.

Every output of one run is written into a hidden staging folder inside the output folder
(``.NAME.s2mask-partial-XXXXXX``, unique to the attempt) under its final name. Only when the whole run has
succeeded is each output renamed into place (a rename within one file system is atomic); on any failure
the staging folder is deleted and the outputs of an earlier run stay untouched. A folder output (the
DIMAP ``.data``) replaces its predecessor by two renames, the old one deleted only once the new one is in
place. An output folder the run had to create is removed again when the run fails and leaves it empty.

A process killed outright (``kill -9``, a lost node) cannot clean up: its staging folder stays. Each
staging folder therefore holds a lock file (:mod:`.ownership`) for as long as its run lives, and every
new stage of the same name first deletes the staging folders whose owner is dead, never a live one.

Write failures become :class:`~s2mask.errors.OutputError` naming the file; a ``KeyboardInterrupt``
and errors s2mask raised on purpose elsewhere in the run propagate unchanged, but still leave nothing.
"""

from __future__ import annotations

import errno
import glob
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import TracebackType

from ..errors import OutputError, ParameterError, S2MaskError
from ..interrupts import deferred_signals
from .ownership import OwnerLock

#: Where writers keep intermediate files (never committed).
SCRATCH = ".scratch"
STAGING_MARK = ".s2mask-partial-"
#: The lock file of a staging folder, held by the run that writes there.
OWNER = ".owner"
#: Attempts at a staging folder of our own: another run's clean-up may take a new one for stale.
_STAGING_ATTEMPTS = 5


def _reason(err: BaseException) -> str:
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return "no space left on device"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    text = " ".join(str(err).split()) or type(err).__name__
    # GDAL reports a failed write(2) without its errno.
    return f"{text} (disk full?)" if "write error" in text.lower() else text


def staging_folders(folder: str | Path, name: str | None = None) -> list[Path]:
    """The staging folders of runs for ``name`` (of every name when None) in ``folder``."""
    pattern = f".{glob.escape(name)}{STAGING_MARK}*" if name is not None else f".*{STAGING_MARK}*"
    return sorted(path for path in Path(folder).glob(pattern) if path.is_dir())


def remove_stale_staging(folder: str | Path, name: str | None = None) -> int:
    """Delete the staging folders of ``name`` (of every name when None) whose run is dead: it was killed
    before it could clean up. A live run's folder stays. Returns how many were deleted."""
    removed = 0
    for staging in staging_folders(folder, name):
        try:
            lock = OwnerLock.acquire(staging / OWNER, wait=False)
        except (FileNotFoundError, NotADirectoryError):
            continue  # its run finished meanwhile
        if lock is None:
            continue
        shutil.rmtree(staging, ignore_errors=True)
        lock.release(remove=False)
        removed += 1
    return removed


def final_path(path: str | Path) -> Path:
    """The path a staged file will have once committed (what error messages should name)."""
    return Path(*(part for part in Path(path).parts if STAGING_MARK not in part and part != SCRATCH))


class _OutputErrors:
    def __init__(self, path: str | Path, doing: str):
        self.path, self.doing = path, doing
        self._gdal = sys.modules.get("osgeo.gdal")  # without GDAL loaded, no GDAL message can come
        self._warnings: list[tuple[int, int, str]] = []

    def _keep_warning(self, level: int, number: int, message: str) -> None:
        if level == self._gdal.CE_Warning:
            self._warnings.append((level, number, message))

    def __enter__(self) -> None:
        # GDAL's warnings wait for the end of the block: those of a write that then fails are its echo
        # ("Unable to save auxiliary information" when the folder is gone) and would only add lines
        # beside the one error; after a success they are printed as GDAL would have. (GDAL's handler
        # stack is per thread, as is this block.)
        if self._gdal is not None:
            self._gdal.PushErrorHandler(self._keep_warning)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._gdal is not None:
            self._gdal.PopErrorHandler()
            for warning in self._warnings if kind is None else ():
                self._gdal.Error(*warning)
        if not isinstance(error, (OSError, RuntimeError)) or isinstance(error, S2MaskError):
            return
        # The frames of a GDAL error hold the failed dataset: dropping them lets its writer close it now,
        # quietly, instead of whenever the exception is collected (when GDAL would complain again).
        error.__traceback__ = None
        del trace
        raise OutputError(f"{self.doing}: {_reason(error)}", final_path(self.path)) from error


def output_errors(path: str | Path, doing: str = "cannot write") -> _OutputErrors:
    """A ``with`` block in which GDAL errors (``RuntimeError``) and ``OSError`` become ``OutputError``
    naming the output's final path."""
    return _OutputErrors(path, doing)


class FinishOnSuccess:
    """Mixin for writers: leaving a ``with`` block calls ``close()`` on success, ``abort()`` on an exception."""

    def close(self) -> None:
        raise NotImplementedError

    def abort(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def check_output_folder(folder: str | Path) -> Path:
    """Create ``folder`` if needed and check that files can be created in it."""
    create_output_folder(folder)
    return Path(folder)


def as_folder(folder: object) -> Path:
    """An output folder given as a path (str or os.PathLike), else a :class:`ParameterError`."""
    if not isinstance(folder, str | os.PathLike):
        raise ParameterError(f"an output folder is given by its path (str or os.PathLike), got {folder!r}",
                             parameters=("output_dir",))
    return Path(folder)


def create_output_folder(folder: str | Path) -> list[Path]:
    """Create ``folder`` if needed and check that files can be created in it; returns the folders it
    created, outermost first (to remove again if nothing is written into them)."""
    folder = as_folder(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError("output folder is a file, not a folder", folder)
    created = [parent for parent in (folder, *folder.parents) if not parent.exists()][::-1]
    with output_errors(folder, "cannot create the output folder"):
        folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK | os.X_OK):
        remove_empty(created)
        raise OutputError("output folder is not writable", folder)
    return created


def remove_empty(folders: list[Path]) -> None:
    """Remove ``folders`` (outermost first), innermost first, as far as they are empty."""
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:
            return


class OutputStage:
    """Stage the outputs of one run and commit them together.

    Use as a context manager::

        with OutputStage(folder, "NAME") as stage:
            write_something(stage.path("NAME_s2mask.tif"))
        # here every staged output is in ``folder``; ``stage.committed`` lists them

    An exception inside the block deletes everything staged. ``path(name)`` registers an output;
    files GDAL creates beside it (``name.aux.xml``) are committed with it; anything else in the staging
    folder, and the :data:`SCRATCH` folder from :meth:`scratch_path`, is discarded.
    """

    def __init__(self, folder: str | Path, name: str):
        self.folder = Path(folder)
        self.name = name
        self.committed: list[Path] = []
        #: stale staging folders of ``name`` (their runs were killed) deleted on entering
        self.removed_stale = 0
        self._registered: list[str] = []
        self._staging: Path | None = None
        self._owner: OwnerLock | None = None
        self._created: list[Path] = []

    def __enter__(self) -> OutputStage:
        self._created = create_output_folder(self.folder)
        try:
            self.removed_stale = remove_stale_staging(self.folder, self.name)
            with deferred_signals():  # a Ctrl-C here would leave the new folder behind, unlocked
                self._staging, self._owner = self._own_staging()
        except BaseException:
            self.discard()
            remove_empty(self._created)
            raise
        return self

    def _own_staging(self) -> tuple[Path, OwnerLock]:
        """A new staging folder, locked as ours before anyone else deems it stale."""
        for _ in range(_STAGING_ATTEMPTS):
            with output_errors(self.folder, "cannot create files in the output folder"):
                staging = Path(tempfile.mkdtemp(prefix=f".{self.name}{STAGING_MARK}", dir=self.folder))
                try:
                    return staging, OwnerLock.acquire(staging / OWNER, wait=True)
                except FileNotFoundError:
                    continue  # another run's clean-up took it for stale in the instant before the lock
                except BaseException:
                    shutil.rmtree(staging, ignore_errors=True)
                    raise
        raise OutputError("cannot keep a staging folder: something deletes them as they are made", self.folder)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            try:
                self._commit()
            except BaseException:
                self.discard()
                remove_empty(self._created)
                raise
            self.discard()
            return
        self.discard()
        remove_empty(self._created)
        if isinstance(error, OSError) and not isinstance(error, S2MaskError):
            where = final_path(error.filename) if getattr(error, "filename", None) else self.folder
            raise OutputError(f"cannot write: {_reason(error)}", where) from error

    @property
    def staging(self) -> Path:
        if self._staging is None:
            raise RuntimeError("OutputStage used outside its 'with' block")
        return self._staging

    def path(self, name: str) -> Path:
        """The staging path of output ``name`` (a file or folder name, no directory part)."""
        if Path(name).name != name or name in self._registered or name == SCRATCH:
            raise ValueError(f"{name!r} is not a new plain output name")
        self._registered.append(name)
        return self.staging / name

    def scratch_path(self, name: str) -> Path:
        """A path for an intermediate file; scratch files are never committed."""
        scratch = self.staging / SCRATCH
        scratch.mkdir(exist_ok=True)
        return scratch / name

    def final_path(self, name: str) -> Path:
        """Where output ``name`` lands after the commit."""
        return self.folder / name

    def _commit_order(self) -> list[str]:
        present = set(os.listdir(self.staging))
        missing = [name for name in self._registered if name not in present]
        if missing:
            raise OutputError("output was never written", self.folder / missing[0])
        sidecars = sorted(entry for entry in present - set(self._registered)
                          if any(entry.startswith(name + ".") for name in self._registered))
        # Sidecars and folders before the files that refer to them: a reader that sees the new
        # NAME.dim or NAME.tif also sees the new NAME.data/ or NAME.tif.aux.xml.
        return sidecars + self._registered

    def _commit(self) -> None:
        order = self._commit_order()
        with deferred_signals():  # all of the outputs move into place, or (after an error) the rest stay
            self._move(order)

    def _move(self, order: list[str]) -> None:
        for entry in order:
            source, target = self.staging / entry, self.folder / entry
            with output_errors(target, "cannot move into place"):
                if source.is_dir() and target.is_dir():
                    _replace_folder(source, target, self.staging / f"replaced-{entry}")
                else:
                    os.replace(source, target)
            self.committed.append(target)

    def discard(self) -> None:
        """Delete everything staged (done anyway on any exception in the ``with`` block)."""
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging = None
        if self._owner is not None:
            self._owner.release(remove=False)
            self._owner = None


def _replace_folder(source: Path, target: Path, parking: Path) -> None:
    """Put folder ``source`` at ``target``, moving the old ``target`` to ``parking`` (deleted later)."""
    os.replace(target, parking)
    try:
        os.replace(source, target)
    except OSError:
        os.replace(parking, target)
        raise
