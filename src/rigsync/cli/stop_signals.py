"""Stopping a capture on SIGINT (Ctrl-C) and SIGTERM: finish the file; abandon it only if the user insists.

Signal handlers are a process-wide side effect, so only the CLI installs them (never the library): the
handlers set the capture's stop event and say what happens, and never raise into the capture's code (a
KeyboardInterrupt could land anywhere, e.g. inside the recorder's queue or the simulator's event heaps).

- 1st signal: stop; the capture ends its recording normally (end metadata, summary, footer).
- 2nd: the file is still being finished; say that one more signal abandons it.
- 3rd: exit at once with status 128 + the signal's number (130 for Ctrl-C, 143 for SIGTERM): the file ends
  at its last complete chunk, and ``rigsync info`` (any reader) recovers it.

A signal the process was started with ignored stays ignored, as POSIX programs do: a non-interactive shell
starts background jobs with SIGINT ignored, so that a Ctrl-C meant for the foreground does not stop them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self

SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _name(signum: int) -> str:
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


class StopOnSignals:
    """While active (a context manager, in the main thread), SIGINT and SIGTERM stop the capture (``stop``).

    ``say`` shows a line to the user; ``abandon(status)`` must end the process at once (default ``os._exit``).
    The previous handlers are restored on exit.
    """

    def __init__(self, out: Path, say: Callable[[str], None], *,
                 abandon: Callable[[int], Any] = os._exit) -> None:
        self.out = out
        self.stop = threading.Event()
        self.signals = 0
        self._say = say
        self._abandon = abandon
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Self:
        for signum in SIGNALS:
            if signal.getsignal(signum) != signal.SIG_IGN:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        # Runs in the main thread between two bytecodes of whatever it was doing: only set the event (the
        # capture never waits on it, so its lock is never held here) and print.
        self.signals += 1
        name = _name(signum)
        if self.signals == 1:
            self.stop.set()
            self._tell(f"{name}: stopping, finishing the recording {self.out} (a third signal abandons it)")
        elif self.signals == 2:
            self._tell(f"{name}: still finishing {self.out}; once more abandons it (the file then ends at its last "
                       "complete chunk, which `rigsync info` recovers)")
        else:
            self._tell(f"{name}: abandoned; {self.out} ends at its last complete chunk (`rigsync info {self.out}` "
                       "recovers it)")
            self._abandon(128 + signum)

    def _tell(self, line: str) -> None:
        with contextlib.suppress(Exception):  # a closed terminal must not raise into the capture's code
            self._say(line)
