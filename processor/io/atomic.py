"""Outputs that appear complete or not at all.

Every output of one run is written into a hidden staging folder inside the output folder
(``.NAME.s2mask-partial-XXXXXX``) under its final name. Only when the whole run has succeeded is each
output renamed into place (a rename within one file system is atomic); on any failure the staging folder
is deleted and the outputs of an earlier run stay untouched. A folder output (the DIMAP ``.data``)
replaces its predecessor by two renames, the old one deleted only once the new one is in place.

Write failures become :class:`~s2mask.errors.OutputError` naming the file; a ``KeyboardInterrupt``
and errors s2mask raised on purpose elsewhere in the run propagate unchanged, but still leave nothing.
"""

from __future__ import annotations

import errno
import glob
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from ..errors import OutputError, S2MaskError

#: Where writers keep intermediate files (never committed).
SCRATCH = ".scratch"
STAGING_MARK = ".s2mask-partial-"


def _reason(err: BaseException) -> str:
    if isinstance(err, OSError) and err.errno == errno.ENOSPC:
        return "no space left on device"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    text = " ".join(str(err).split()) or type(err).__name__
    # GDAL reports a failed write(2) without its errno.
    return f"{text} (disk full?)" if "write error" in text.lower() else text


def staging_folders(folder: str | Path, name: str) -> list[Path]:
    """The staging folders runs for ``name`` left in ``folder`` (a killed run leaves its own behind)."""
    return sorted(Path(folder).glob(f".{glob.escape(name)}{STAGING_MARK}*"))


def final_path(path: str | Path) -> Path:
    """The path a staged file will have once committed (what error messages should name)."""
    return Path(*(part for part in Path(path).parts if STAGING_MARK not in part and part != SCRATCH))


class _OutputErrors:
    def __init__(self, path: str | Path, doing: str):
        self.path, self.doing = path, doing

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
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
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError("output folder is a file, not a folder", folder)
    with output_errors(folder, "cannot create the output folder"):
        folder.mkdir(parents=True, exist_ok=True)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError("output folder is not writable", folder)
    return folder


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
        self._registered: list[str] = []
        self._staging: Path | None = None

    def __enter__(self) -> OutputStage:
        check_output_folder(self.folder)
        with output_errors(self.folder, "cannot create files in the output folder"):
            self._staging = Path(tempfile.mkdtemp(prefix=f".{self.name}{STAGING_MARK}", dir=self.folder))
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            try:
                self._commit()
            finally:
                self.discard()
            return
        self.discard()
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


def _replace_folder(source: Path, target: Path, parking: Path) -> None:
    """Put folder ``source`` at ``target``, moving the old ``target`` to ``parking`` (deleted later)."""
    os.replace(target, parking)
    try:
        os.replace(source, target)
    except OSError:
        os.replace(parking, target)
        raise
