"""The local cluster's workers ignore Ctrl-C, as a worker plugin (imported with distributed, when needed).

They are in the terminal's process group, so Ctrl-C reaches them as well as the batch: each would print
a traceback of the task it was running. The batch stops them itself when it is interrupted."""

from __future__ import annotations

import signal
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin


class IgnoreInterrupts(WorkerPlugin):
    name = "s2mask-ignore-interrupts"

    def setup(self, worker: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
