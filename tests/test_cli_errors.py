"""The command line's contract: errors spelt as typed, SIGTERM handled like Ctrl-C (143 and 130)."""

from __future__ import annotations

import os
import signal

import pytest

from s2mask.cli import as_typed, main
from s2mask.errors import ParameterError
from s2mask.interrupts import Terminated, deferred_signals, exit_status, signals_as_exceptions

OPTIONS = {"block_size": "--block-size", "resolution": "--resolution", "super_resolution": "--super-resolution"}


def test_parameters_are_named_as_the_options_typed():
    error = ParameterError("super_resolution needs resolution=10, got resolution=20; block_size_x stays",
                           parameters=("super_resolution", "resolution"))
    assert as_typed(error, OPTIONS) == ("--super-resolution needs --resolution 10, got --resolution 20; "
                                        "block_size_x stays")
    assert as_typed(ParameterError("block_size must lie in 128..8192"), OPTIONS) == \
        "block_size must lie in 128..8192", "only the parameters an error names are respelt"


def test_sigterm_raises_terminated_and_ctrl_c_keyboard_interrupt():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated) as caught, signals_as_exceptions():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()
    assert exit_status(caught.value) == 143 and exit_status(KeyboardInterrupt()) == 130
    assert signal.getsignal(signal.SIGTERM) == before


def test_a_signal_ignored_before_stays_ignored():
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with signals_as_exceptions():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)


def test_a_command_ended_by_sigterm_exits_143_in_one_line(monkeypatch, capsys):
    import s2mask.cli.info as command

    def terminated(args):
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()

    monkeypatch.setattr(command, "main", terminated)
    assert main(["info", "anything"]) == 143
    assert capsys.readouterr().err == "s2mask: terminated (SIGTERM); no partial output was kept\n"


def test_a_signal_inside_a_deferred_step_acts_at_its_end():
    steps = []
    with pytest.raises(Terminated), signals_as_exceptions():
        with deferred_signals():
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("went on")
            with deferred_signals():
                steps.append("nested")
            steps.append("still")
        steps.append("never")
    assert steps == ["went on", "nested", "still"]
