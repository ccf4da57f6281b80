"""The clock test of seeds/000 ("Test the configuration"): CURRENT minus IMAGE over time, across a clock step.

The ZED document's application prints the host's system clock when a frame is grabbed (CURRENT) minus the
frame's timestamp (IMAGE). Normally the difference is constant (it depends on the frame rate). When the
master's clock is set by hand and PTP carries the change to the slaves, "the CURRENT timestamp will change
according to the clock configuration change (smooth or jump)" while "the IMAGE timestamp will be smoothly
adapted to the current system clock. There will be no large jumps because it needs to stay consistent with the
camera FPS": an initial large difference that decreases over time and returns to the constant one.

rigsync's rig-time stamps play IMAGE here. They follow a step of the reference on the rig's one schedule
(:mod:`rigsync.timebase.steps`): held on the old timeline for the hold (every host learns of the step
meanwhile), then slewed at 10 %. So CURRENT - IMAGE jumps when the host's clock takes the step, stays there
until the hold is over, then decays linearly back to the constant:

* :func:`sim_clock_test` captures a rig on the simulator (by default the document's set-up: a grandmaster
  host and a ZED on a slave host) and steps the grandmaster's clock by hand;
* :func:`observe_clock_test` runs on a real host whose ptp4l is in observe mode (``free_running``): IMAGE is
  rigsync's rig time of the host's monotonic clock at the frame rate, CURRENT the PTP time the latest offset
  ptp4l measured implies. Change the master's time (or the path) and watch the same curve.
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rigsync.capture.session import CaptureOptions, CaptureSession
from rigsync.core.errors import RigsyncError
from rigsync.core.frame import StampedFrame
from rigsync.core.ptp import HostRole, PtpMode
from rigsync.drivers.base import PtpSource
from rigsync.plan import build_plan
from rigsync.ptp.pmc import ClockReader, local_clocks
from rigsync.spec import loads_rig
from rigsync.spec.model import RigSpec
from rigsync.timebase.host import HostTimebase, HostTimebaseConfig, measured

SEEDS_000_RIG = """
# seeds/000's test set-up: a grandmaster host (NTP on) and a slave host with a ZED, PTP over hardware timestamps.
[rig]
name = "clock-test"

[[hosts]]
name = "master"
nics = [{ name = "eth0", timestamping = "hardware" }]

[[hosts]]
name = "slave"
nics = [{ name = "eth0", timestamping = "hardware" }]

[[devices]]
id = "zed"
model = "zed-2i"
serial = "30000001"
host = "slave"
connection = "usb:mb0"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30 }]

[[sync]]
name = "lan"
method = "ptp"
members = [{ device = "zed" }]
[sync.ptp]
grandmaster = "master"
"""


@dataclass(frozen=True)
class ClockTestRow:
    t_s: float
    """Seconds since the test started."""
    current_minus_image_ns: int
    image_ns: int
    bound_ns: int


@dataclass(frozen=True)
class ClockTestResult:
    rows: tuple[ClockTestRow, ...]
    title: str
    step_at_s: float | None
    """When the clock was stepped (simulator), on the rows' time axis."""
    baseline_ns: float
    """CURRENT - IMAGE before the step (median)."""
    tolerance_ns: float
    peak_ns: float
    """Largest |CURRENT - IMAGE - baseline| after the step: the initial jump."""
    recovery_s: float | None
    """From the step until CURRENT - IMAGE is back within tolerance of the baseline for good."""
    hold_s: float | None
    """From the step until CURRENT - IMAGE starts to decay from its peak (IMAGE held on the old timeline)."""
    max_interval_change: float
    """Largest change of IMAGE's advance from one frame to the next, relative to the frame interval (the slew:
    0.1 = 10 %)."""
    backwards: int
    """IMAGE steps that went back (never, for rigsync's stamps)."""


def _result(rows: list[ClockTestRow], title: str, step_at_s: float | None, frame_interval_ns: float) -> ClockTestResult:
    if len(rows) < 3:
        raise RigsyncError("the clock test got fewer than 3 frames: run it longer")
    head = rows[: max(len(rows) // 5, 3)]
    before = [r.current_minus_image_ns for r in rows if r.t_s < step_at_s] if step_at_s is not None else \
        [r.current_minus_image_ns for r in head]
    before = before or [rows[0].current_minus_image_ns]
    baseline = statistics.median(before)
    mad = statistics.median(abs(v - baseline) for v in before) if len(before) > 2 else 0.0
    tolerance = max(10 * 1.4826 * mad, 1_000_000.0)  # jitter of the delivery, at least 1 ms
    if step_at_s is None:  # a real clock: the step is where CURRENT - IMAGE first leaves the baseline
        step_at_s = next((r.t_s for r in rows if abs(r.current_minus_image_ns - baseline) > tolerance), None)
    after = [r for r in rows if step_at_s is not None and r.t_s >= step_at_s]
    peak = max((abs(r.current_minus_image_ns - baseline) for r in after), default=0.0)
    recovery = hold = None
    if after and step_at_s is not None and peak > tolerance:
        outside = [r.t_s for r in after if abs(r.current_minus_image_ns - baseline) > tolerance]
        later = [r.t_s for r in after if r.t_s > outside[-1]]
        recovery = later[0] - step_at_s if later else None
        plateau = [abs(r.current_minus_image_ns - baseline) >= peak - tolerance for r in after]
        top = plateau.index(True)
        decay = next((r.t_s for r, on in zip(after[top:], plateau[top:], strict=True) if not on), None)
        hold = decay - step_at_s if decay is not None else None
    advances = [b.image_ns - a.image_ns for a, b in itertools.pairwise(rows)]
    changes = [abs(y - x) / frame_interval_ns for x, y in itertools.pairwise(advances)]
    return ClockTestResult(tuple(rows), title, step_at_s, baseline, tolerance, peak, recovery, hold,
                           max(changes, default=0.0), sum(1 for a in advances if a <= 0))


def sim_clock_test(rig: RigSpec | None = None, *, device: str | None = None, step_ms: float = 1000.0,
                   at_s: float = 5.0, seconds: float = 30.0, seed: int | None = None,
                   out: Path | None = None) -> ClockTestResult:
    """seeds/000's test on the simulator: the grandmaster host's clock is set ``step_ms`` ahead at ``at_s``."""
    base = rig or loads_rig(SEEDS_000_RIG, "clock-test.toml")
    plan = build_plan(base)
    gm = next((h.host for h in plan.hosts if h.ptp_role == "grandmaster"), None)
    if gm is None:
        raise RigsyncError(f"{base.path}: the clock test steps the PTP grandmaster host's clock: the rig needs a ptp "
                           "group whose grandmaster is one of its hosts")
    slaves = {h.host for h in plan.hosts if h.clock_role is HostRole.PTP}
    candidates = [d for d in base.devices if d.host in slaves] if device is None else \
        [d for d in base.devices if d.id == device]
    chosen = candidates[0] if candidates else None
    if chosen is None:
        raise RigsyncError(f"{base.path}: device {device!r} not found" if device else
                           f"{base.path}: no device on a PTP slave host to watch")
    fault = f'\n[[faults]]\nhost = "{gm}"\nkind = "clock-step"\nat_s = {at_s}\nstep_ms = {step_ms}\n'
    rig = loads_rig(base.text + fault, base.path)
    stream = chosen.streams[0].name
    rows: list[ClockTestRow] = []
    session_box: list[CaptureSession] = []

    def observe(frame: StampedFrame) -> None:
        f = frame.frame
        if f.device == chosen.id and f.stream == stream:
            session = session_box[0]
            current = session.clocks.realtime_now(chosen.host)
            t = (session.clock.now_ns() - start_ns) / 1e9
            rows.append(ClockTestRow(t, current - frame.rig_time_ns, frame.rig_time_ns, frame.error_bound_ns))

    with tempfile.TemporaryDirectory() as tmp:
        path = out or Path(tmp) / "clock-test.mcap"
        with CaptureSession(build_plan(rig), CaptureOptions(out=path, seconds=seconds, fast=True, seed=seed),
                            frame_observer=observe) as session:
            session_box.append(session)
            start_ns = session.clock.now_ns()
            session.run()
    title = (f"{rig.name}: {chosen.id} on {chosen.host}, the grandmaster {gm}'s clock set {step_ms:+g} ms at "
             f"{at_s:g} s")
    return _result(rows, title, at_s, chosen.streams[0].period_ns)


def observe_clock_test(source: PtpSource, host: str, *, seconds: float = 30.0, fps: float = 30.0,
                       sync_interval_ns: int = 1_000_000_000, clocks: ClockReader = local_clocks,
                       sleep: Callable[[float], None] = time.sleep,
                       on_row: Callable[[ClockTestRow], None] | None = None) -> ClockTestResult:
    """The test on a real host in observe mode (``source``: its ptp4l's pmc monitor; ``sync_interval_ns``: its
    PTP Sync interval, which sets the hold through a step)."""
    tb = HostTimebase(host, HostTimebaseConfig(role=HostRole.PTP, mode=PtpMode.OBSERVE,
                                               sync_interval_ns=sync_interval_ns))
    rows: list[ClockTestRow] = []
    latest_e: int | None = None
    period = 1.0 / fps
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        for sample in source.poll():
            tb.add(sample)
            if measured(sample):
                latest_e = sample.system_offset_ns
        realtime, mono = clocks()
        if latest_e is not None:
            image = tb.to_rig(mono)
            row = ClockTestRow(time.monotonic() - t0, realtime - latest_e - image.rig_ns, image.rig_ns, image.bound_ns)
            rows.append(row)
            if on_row is not None:
                on_row(row)
        sleep(period)
    return _result(rows, f"{host}: observe mode, PTP time from ptp4l's offset vs rigsync's map", None, period * 1e9)
