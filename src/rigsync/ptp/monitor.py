"""A background monitor of one host's ptp4l through pmc: a PTP source for captures and for ``ptp run``."""

from __future__ import annotations

import dataclasses
import threading
from types import TracebackType
from typing import Self

from rigsync.core.ptp import PtpSample
from rigsync.ptp.pmc import ClockReader, Pmc, local_clocks


class PmcMonitor:
    """Polls pmc every ``interval_s`` on a thread of its own; :meth:`poll` hands out the new samples. A context
    manager: the thread stops on exit."""

    def __init__(self, pmc: Pmc, host: str, *, software: bool, interval_s: float = 1.0,
                 clocks: ClockReader = local_clocks) -> None:
        self._pmc = pmc
        self.host = host
        self.software = software
        self.interval_s = interval_s
        self._clocks = clocks
        self._lock = threading.Lock()
        self._new: list[PtpSample] = []
        self.latest: PtpSample | None = None
        self.sys_offset_ns: int | None = None
        """Hardware timestamping: the system clock minus the NIC's clock (set by whoever reads phc2sys)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def read_once(self) -> PtpSample | None:
        """Query pmc now (on the caller's thread) and queue the sample."""
        sample = self._pmc.sample(self.host, software=self.software, clocks=self._clocks)
        if sample is None:
            return None
        if self.sys_offset_ns is not None and sample.offset_ns is not None:
            sample = dataclasses.replace(sample, sys_offset_ns=self.sys_offset_ns)
        with self._lock:
            if self.latest is None or sample.mono_ns != self.latest.mono_ns:  # the same Sync is reported once
                self._new.append(sample)
                self.latest = sample
        return sample

    def poll(self) -> list[PtpSample]:
        with self._lock:
            out, self._new = self._new, []
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            self.read_once()
            self._stop.wait(self.interval_s)

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=f"pmc-{self.host}", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
