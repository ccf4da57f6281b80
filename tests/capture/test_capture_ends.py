"""A capture ends: in about the work of a normal capture whatever its rig does (every device disconnected
throughout, a fault scheduled far beyond the capture), and promptly when it is stopped, in every phase (waiting
for a scheduled start, capturing, draining the last frames) and from the command line with SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.capture.rigs import RIG, fault

from rigsync.capture import CaptureOptions, CaptureResult, CaptureSession
from rigsync.capture.clocks import RigClocks
from rigsync.capture.start import StartAt
from rigsync.drivers.sim.driver import SimDevice
from rigsync.drivers.sim.hosts import SimHost
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.record import open_recording
from rigsync.spec import loads_rig


def disconnect(device: str, at_s: float, duration_s: float) -> str:
    return fault("disconnect", at_s, duration_s, device=device)


ALL_DISCONNECTED = RIG + "".join(disconnect(d, 0, 1e6) for d in ("k0", "k1", "cam"))


class RunawaySimulationError(Exception):
    """The simulation did far more work than the capture asked for."""


@contextmanager
def counted(methods: list[tuple[type, str]], limit: int | None = None,
            on_count: Callable[[Counter[str]], None] | None = None) -> Iterator[Counter[str]]:
    """Count the calls of ``methods`` (``Class.method``) while the block runs; raise once their sum passes
    ``limit`` (a runaway capture fails instead of hanging); ``on_count`` sees the counts after each call."""
    counts: Counter[str] = Counter()
    with pytest.MonkeyPatch.context() as mp:
        for cls, name in methods:
            def make(original: Callable[..., Any], key: str) -> Callable[..., Any]:
                def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
                    counts[key] += 1
                    if limit is not None and counts.total() > limit:
                        raise RunawaySimulationError(f"{dict(counts)} calls, over {limit}")
                    if on_count is not None:
                        on_count(counts)
                    return original(self, *args, **kwargs)
                return wrapper
            mp.setattr(cls, name, make(getattr(cls, name), f"{cls.__name__}.{name}"))
        yield counts


SIMULATION = [(SimWorld, "_step"), (SimHost, "_tick")]
"""The simulator's work: events (exposures, losses, deliveries, faults) and host clock ticks (PTP Syncs)."""


def capture(text: str, out: Path, seconds: float, stop: threading.Event | None = None, **options: Any
            ) -> CaptureResult:
    plan = build_plan(loads_rig(text, "ends.toml"))
    with CaptureSession(plan, CaptureOptions(out=out, seconds=seconds, fast=True, **options)) as session:
        return session.run(stop=stop)


def simulated_work(text: str, out: Path, limit: int | None = None) -> int:
    with counted(SIMULATION, limit) as counts:
        capture(text, out, 2.0)
    return counts.total()


@pytest.mark.parametrize("fault", [
    "".join(disconnect(d, 0, 1e6) for d in ("k0", "k1", "cam")),
    disconnect("k1", 1e6, 1.0),
    disconnect("cam", 1e5, 1e6),
], ids=["all-disconnected-throughout", "fault-at-1e6-s", "fault-at-1e5-s"])  # fmt: skip
def test_a_rig_that_delivers_nothing_or_faults_far_ahead_costs_a_normal_capture(fault: str, tmp_path: Path) -> None:
    """Every device disconnected for the whole capture, or a fault a million seconds ahead: the capture ends,
    having simulated no more than the same rig without the fault (events and host clock ticks counted, within
    10 %), and its file is finished."""
    normal = simulated_work(RIG, tmp_path / "normal.mcap")
    work = simulated_work(RIG + fault, tmp_path / "fault.mcap", limit=3 * normal)
    assert work <= 1.1 * normal
    with open_recording(tmp_path / "fault.mcap") as rec:
        assert not rec.recovered and "rigsync.stats" in rec.metadata


def stop_after(counts_key: str, n: int, stop: threading.Event) -> Callable[[Counter[str]], None]:
    """Set ``stop`` at the ``n``-th call of ``counts_key``."""
    def check(counts: Counter[str]) -> None:
        if counts[counts_key] == n:
            stop.set()
    return check


def test_a_stop_ends_the_wait_for_a_scheduled_start(tmp_path: Path) -> None:
    """A stop while the capture waits for a start an hour ahead ends the wait: a few more clock readings,
    not the hour's (the wait reads the clocks every 0.1 s), and nothing is recorded."""
    stop = threading.Event()
    with counted([(RigClocks, "poll")], on_count=stop_after("RigClocks.poll", 5, stop)) as counts:
        result = capture(RIG, tmp_path / "s.mcap", 1.0, stop, start_at=StartAt.parse("+3600s"))
    assert result.interrupted and result.frames == 0
    assert counts["RigClocks.poll"] < 5 + 10


def test_a_stop_ends_a_capture_whose_devices_deliver_nothing(tmp_path: Path) -> None:
    """Every device disconnected, a capture of 100,000 s: a stop ends it after a few more polls (the loop
    wakes at least every status interval even while nothing is due), a few seconds into it."""
    stop = threading.Event()
    with counted([(SimDevice, "poll"), *SIMULATION], limit=100_000,
                 on_count=stop_after("SimDevice.poll", 30, stop)) as counts:
        result = capture(ALL_DISCONNECTED, tmp_path / "d.mcap", 100_000.0, stop)
    assert result.interrupted and result.duration_s < 5
    assert counts["SimDevice.poll"] <= 30 + 3 * 2


def test_a_stop_while_draining_ends_the_drain(tmp_path: Path) -> None:
    """A stop while the capture, ended, takes the frames still in flight: one more round of polls, and those
    frames are not waited for (a drain without a stop takes them)."""
    def drain(stop: threading.Event | None) -> tuple[int, int]:
        """Device polls after the devices stopped, and the frames recorded."""
        stopped: list[int] = []

        def stop_when_draining(counts: Counter[str]) -> None:
            if stop is not None and len(stopped) == 3:
                stop.set()

        with counted([(SimDevice, "poll")], on_count=stop_when_draining) as polls:
            original = SimDevice.stop

            def stopping(self: SimDevice) -> None:
                original(self)
                stopped.append(polls.total())

            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(SimDevice, "stop", stopping)
                result = capture(RIG, tmp_path / "drain.mcap", 2.0, stop)
        return polls.total() - stopped[-1], result.frames

    drained, frames = drain(None)
    cut, cut_frames = drain(threading.Event())
    assert cut == 3 < drained
    assert cut_frames < frames


def test_sigterm_stops_a_fast_capture_whose_devices_deliver_nothing(tmp_path: Path) -> None:
    """``rigsync capture --fast --seconds 100000`` of a rig whose every device stays disconnected: SIGTERM ends
    it (exit 0) with a finished file, as a normal capture."""
    rig = tmp_path / "rig.toml"
    rig.write_text(ALL_DISCONNECTED)
    out = tmp_path / "t.mcap"
    proc = subprocess.Popen([sys.executable, "-m", "rigsync.cli.main", "capture", str(rig), "--fast", "--seconds",
                             "100000", "--quiet", "--out", str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        stdout = proc.stdout
        assert stdout is not None
        _wait_until_capturing(out, proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, proc.stderr.read() if proc.stderr else ""
        assert "SIGTERM: stopping" in stdout.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    with open_recording(out) as rec:
        assert not rec.recovered and "rigsync.stats" in rec.metadata


def _wait_until_capturing(out: Path, proc: subprocess.Popen[str]) -> None:
    """Until the recording holds a chunk (the capture loop runs): its clock readings are written as they come."""
    import time

    deadline = time.monotonic() + 60
    while not out.exists() or out.stat().st_size < 4096:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the capture never wrote"
        time.sleep(0.05)
