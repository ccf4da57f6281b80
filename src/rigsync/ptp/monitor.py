"""A background monitor of one host's ptp4l through pmc: a PTP source for captures and for ``ptp run``."""

from __future__ import annotations

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
        self.paused = False
        """Set while the readings cannot be trusted (phc2sys down): no samples, so the host goes to holdover."""
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def read_once(self) -> PtpSample | None:
        """Query pmc now (on the caller's thread) and queue the sample if it reports a new Sync."""
        if self.paused:
            return None
        sample = self._pmc.sample(self.host, software=self.software, sys_offset_ns=self.sys_offset_ns,
                                  clocks=self._clocks)
        if sample is None:
            return None
        with self._lock:
            previous = self.latest
            self.latest = sample
            # pmc repeats the last Sync's data until the next arrives (and through a lost master's announce
            # timeout): one sample per Sync, identified by its ingress time.
            if previous is None or sample.ingress_ns is None or sample.ingress_ns != previous.ingress_ns \
                    or sample.port_state is not previous.port_state:
                self._new.append(sample)
        return sample

    def poll(self) -> list[PtpSample]:
        with self._lock:
            out, self._new = self._new, []
        return out

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.read_once()
                self.last_error = None
            except Exception as err:  # a bad reading must not end the monitoring
                self.last_error = f"{type(err).__name__}: {err}"
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
