"""SIGTERM handled like Ctrl-C, for the command line.

``timeout``, SLURM and ``docker stop`` end a program with SIGTERM, whose default action kills it on the
spot: no ``finally`` runs and a run's staging folder stays behind. Inside :func:`signals_as_exceptions`
SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``) in the main thread instead, so every clean-up
that Ctrl-C triggers runs for it too. The first signal wins: further SIGINT or SIGTERM are ignored
until the clean-up is done, so that they cannot cut it short. Steps that must not be cut in two (making
a staging folder and taking its lock, moving outputs into place) run under :func:`deferred_signals`.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The exit status of a program ended by a signal, as shells report it: 128 + the signal's number.
EXIT_STATUS = {signal.SIGINT: 128 + signal.SIGINT, signal.SIGTERM: 128 + signal.SIGTERM}


#: Nesting depth of :func:`deferred_signals` in the main thread, and the signals that arrived meanwhile.
_deferring = 0
_pending: list[int] = []


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; raised wherever Ctrl-C's ``KeyboardInterrupt`` would be."""


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """130 after Ctrl-C, 143 after SIGTERM."""
    return EXIT_STATUS[signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT]


def _raise(signum: int, frame: FrameType | None) -> None:
    if _deferring:
        _pending.append(signum)
        return
    for number in EXIT_STATUS:
        signal.signal(number, signal.SIG_IGN)
    raise Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


@contextmanager
def signals_as_exceptions() -> Iterator[None]:
    """SIGINT and SIGTERM raise ``KeyboardInterrupt`` and :class:`Terminated` in the main thread while the
    block runs (a signal ignored when the block starts, as in a background job, stays ignored)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.getsignal(number) for number in EXIT_STATUS}
    for number, handler in previous.items():
        if handler is not signal.SIG_IGN:
            signal.signal(number, _raise)
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """A SIGINT or SIGTERM that arrives inside the block (in the main thread, under
    :func:`signals_as_exceptions`) is raised when the block ends without an error of its own."""
    global _deferring
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
    if not _deferring and _pending:
        signum = _pending[0]
        _pending.clear()
        _raise(signum, None)
