"""SIGTERM handled like Ctrl-C, for the command line.

``timeout``, SLURM and ``docker stop`` end a program with SIGTERM, whose default action kills it on the
spot: no ``finally`` runs and a run's staging folder stays behind. Inside :func:`signals_as_exceptions`
SIGTERM raises :class:`Terminated` (a ``KeyboardInterrupt``) in the main thread instead, so every clean-up
that Ctrl-C triggers runs for it too. The first signal wins: further SIGINT or SIGTERM are ignored
until the clean-up is done, so that they cannot cut it short.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

#: The exit status of a program ended by a signal, as shells report it: 128 + the signal's number.
EXIT_STATUS = {signal.SIGINT: 128 + signal.SIGINT, signal.SIGTERM: 128 + signal.SIGTERM}


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; raised wherever Ctrl-C's ``KeyboardInterrupt`` would be."""


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """130 after Ctrl-C, 143 after SIGTERM."""
    return EXIT_STATUS[signal.SIGTERM if isinstance(interrupt, Terminated) else signal.SIGINT]


def _raise(signum: int, frame: FrameType | None) -> None:
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
