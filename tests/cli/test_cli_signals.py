"""The capture's signal handling: stop, then warn, then abandon; previous handlers back afterwards; a signal
the process was started with ignored stays ignored."""

from __future__ import annotations

import signal
from pathlib import Path

from rigsync.cli.stop_signals import StopOnSignals


def test_first_signal_stops_second_warns_third_abandons() -> None:
    """SIGTERM sets the stop event; a second signal only says the file is still being finished; the third
    abandons with 128 + its number. Each says what happens."""
    lines: list[str] = []
    exits: list[int] = []
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with StopOnSignals(Path("r.mcap"), lines.append, abandon=exits.append) as signals:
        signal.raise_signal(signal.SIGTERM)
        assert signals.stop.is_set() and exits == []
        signal.raise_signal(signal.SIGINT)
        assert exits == []
        signal.raise_signal(signal.SIGINT)
        assert exits == [128 + signal.SIGINT]
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
    assert lines[0].startswith("SIGTERM: stopping, finishing the recording r.mcap")
    assert lines[1].startswith("Ctrl-C: still finishing r.mcap; once more abandons it")
    assert lines[2].startswith("Ctrl-C: abandoned; r.mcap ends at its last complete chunk")


def test_a_broken_terminal_does_not_break_the_stop() -> None:
    """If the line cannot be shown (closed terminal), the signal still stops the capture, and nothing raises."""

    def say(line: str) -> None:
        raise BrokenPipeError

    with StopOnSignals(Path("r.mcap"), say, abandon=lambda status: None) as signals:
        signal.raise_signal(signal.SIGINT)
        assert signals.stop.is_set()


def test_an_inherited_ignored_sigint_stays_ignored() -> None:
    """Started with SIGINT ignored (a background job of a non-interactive shell): SIGINT stays ignored, SIGTERM
    still stops the capture."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with StopOnSignals(Path("r.mcap"), lambda line: None) as signals:
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)
            assert not signals.stop.is_set()
            signal.raise_signal(signal.SIGTERM)
            assert signals.stop.is_set()
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
