"""Lock files that say "a live process works here": a run's staging folder, a batch's output folder.

The owner holds an exclusive ``flock`` on the file for as long as it works. The kernel drops the lock
when the process ends, however it ends (``kill -9`` included), so "is the owner alive?" is "can the lock
be taken?": no process ids or host names to compare, and it holds wherever ``flock`` does (local file
systems; NFS through its lock manager). The file itself names the owner (pid and host) for people.
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import IO


class OwnerLock:
    """A lock file this process holds; :meth:`acquire` takes one, :meth:`release` lets it go."""

    def __init__(self, path: Path, handle: IO[str]):
        self.path, self._handle = path, handle

    @classmethod
    def acquire(cls, path: str | Path, *, wait: bool) -> OwnerLock | None:
        """Lock ``path`` (created when absent). Without ``wait``, None when a live process holds it.

        The lock must be on the file that is at ``path`` once held: a previous owner that removed the
        file in the meantime leaves a lock on a file nobody else sees, so the file is opened again.
        ``FileNotFoundError`` when the folder of ``path`` is gone."""
        path = Path(path)
        while True:
            handle = open(path, "a+", encoding="utf-8")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                current = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino
            except BlockingIOError:
                handle.close()
                return None
            except FileNotFoundError:
                current = False
            except BaseException:
                handle.close()
                raise
            if current:
                handle.seek(0)
                handle.truncate()
                handle.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
                handle.flush()
                return cls(path, handle)
            handle.close()

    def release(self, remove: bool = True) -> None:
        """Let the lock go, removing its file first (while held, so that no one locks a file on its way out)."""
        if self._handle.closed:
            return
        if remove:
            self.path.unlink(missing_ok=True)
        self._handle.close()

