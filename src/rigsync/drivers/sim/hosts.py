"""Simulated host clocks, and linuxptp on each host.

Every host has a system clock (CLOCK_REALTIME) and a monotonic clock (CLOCK_MONOTONIC: seconds since boot,
running at the rate the system clock is steered to, never stepped: the system clock minus every step made to
it). True time is physical time; the **reference** is the rig clock: true time plus every step made by hand to
the reference host's clock (the PTP grandmaster host, or the first host of a rig without PTP).

A host's system clock is, by its role (``rigsync.plan`` decides it):

* ``reference``: the reference itself (stepping it by hand moves the reference: the seeds/000 test);
* ``unsynced``: a free crystal a few ms off (an NTP-set host nobody ties to the rig);
* ``ptp``: a crystal that a model of ptp4l measures against the master once per Sync interval and, in
  ``discipline`` mode, steers with a PI servo using linuxptp's default constants, scaled to the Sync interval
  s as ptp4l scales them (ptp4l(8): kp = min(kp_scale * s^-0.3, 0.7 / s), ki = min(ki_scale * s^0.4, 0.3 / s);
  hardware timestamping: kp_scale 0.7, ki_scale 0.3; software: 0.1, 0.001): two samples to estimate the
  frequency, a step on first lock above ``first_step_threshold`` (20 us), a restart when an offset exceeds
  ``step_threshold`` (1 ms, as rigsync's ptp4l config sets it), holdover without a master (port LISTENING after
  the announce timeout). In ``observe`` mode (``free_running 1``) it only measures. What ptp4l would report through pmc
  is queued as :class:`~rigsync.core.ptp.PtpSample` s.

Hardware and software timestamping differ in timestamp noise (ns vs us, software with spikes from interrupt
and scheduling latency), in mean path delay (a cable and a PHY vs the network stack) and in the hidden path
asymmetry; with hardware timestamping phc2sys adds its own residual between the NIC's clock and the system
clock. Deterministic for a seed.
"""

from __future__ import annotations

import bisect
import hashlib
import math
from dataclasses import dataclass, field

import numpy as np

from rigsync.core.ptp import FIRST_STEP_THRESHOLD_NS, STEP_THRESHOLD_NS, HostRole, PortState, PtpMode, PtpSample
from rigsync.plan.model import Plan
from rigsync.spec.model import RigSpec
from rigsync.spec.sync import FaultKind

SYSTEM_MAX_FREQ = 500e-6
"""The kernel's limit on a system clock frequency adjustment (adjtimex: 500 ppm)."""
ANNOUNCE_TIMEOUT_NS = 6_000_000_000
"""``announceReceiptTimeout`` 3 x ``logAnnounceInterval`` 1 (2 s): a master silent this long is gone."""
HISTORY_NS = 300_000_000_000
"""Clock history kept for converting past instants (deliveries are at most seconds old)."""


@dataclass(frozen=True)
class StampingNoise:
    """How well one kind of PTP timestamping measures the offset."""

    ts_sigma_ns: float
    spike_p: float
    spike_mean_ns: float
    path_delay_ns: tuple[float, float]
    path_jitter_ns: float
    asym_fraction: float
    """Largest hidden path asymmetry, as a fraction of the mean path delay."""
    sys_sigma_ns: float
    """phc2sys residual between the NIC's clock and the system clock (hardware timestamping only)."""
    kp_scale: float
    ki_scale: float

    def gains(self, interval_s: float) -> tuple[float, float]:
        """(kp, ki) of ptp4l's PI servo at a Sync interval, as linuxptp's pi.c scales them (pi_kp_exponent -0.3,
        pi_ki_exponent 0.4, pi_kp_norm_max 0.7, pi_ki_norm_max 0.3): gentler the longer the interval."""
        return (min(self.kp_scale * interval_s ** -0.3, 0.7 / interval_s),
                min(self.ki_scale * interval_s ** 0.4, 0.3 / interval_s))


HARDWARE = StampingNoise(ts_sigma_ns=8.0, spike_p=0.0, spike_mean_ns=0.0, path_delay_ns=(300.0, 1_500.0),
                         path_jitter_ns=5.0, asym_fraction=0.05, sys_sigma_ns=20.0, kp_scale=0.7, ki_scale=0.3)
SOFTWARE = StampingNoise(ts_sigma_ns=1_500.0, spike_p=0.005, spike_mean_ns=10_000.0,
                         path_delay_ns=(10_000.0, 40_000.0), path_jitter_ns=1_500.0, asym_fraction=0.3,
                         sys_sigma_ns=0.0, kp_scale=0.1, ki_scale=0.001)


class Reference:
    """The rig clock's timeline: true time plus the steps made by hand to the reference host's clock."""

    def __init__(self) -> None:
        self.steps: list[tuple[int, int]] = []  # (true time ns, step ns)

    def step(self, t_true_ns: int, delta_ns: int) -> None:
        self.steps.append((t_true_ns, delta_ns))

    def offset_ns(self, t_true_ns: int) -> int:
        return sum(d for t, d in self.steps if t <= t_true_ns)

    def ns(self, t_true_ns: int) -> int:
        """The reference's reading at true time ``t_true_ns``."""
        return t_true_ns + self.offset_ns(t_true_ns)


@dataclass(frozen=True)
class HostClockSpec:
    """What the simulator needs to know of one host (from the rig and its plan)."""

    name: str
    role: HostRole
    mode: PtpMode | None = None
    hardware: bool = False
    sync_interval_ns: int = 1_000_000_000
    running_s: float = 60.0
    """How long ptp4l has run at true time ``epoch``."""
    gm_identity: str = "000000.fffe.000000"
    clock_steps: tuple[tuple[int, int], ...] = ()
    """(true time ns, step ns) made by hand to the system clock."""
    losses: tuple[tuple[int, int], ...] = ()
    """[begin, end) true-time intervals (ns) without a PTP master."""


@dataclass(slots=True)
class _Segment:
    t0: int
    r0: int
    """System clock at ``t0``."""
    freq: float
    """Relative frequency error over the segment (system clock rate - 1)."""
    stepped: int
    """Sum of the steps made to the system clock so far."""


@dataclass
class _Servo:
    count: int = 0
    m1: int = 0
    t1: int = 0
    integral_ppb: float = 0.0
    adj_ppb: float = 0.0


@dataclass
class SimHost:
    """One host's clocks over true time, advanced lazily as the simulation asks for them."""

    spec: HostClockSpec
    reference: Reference
    epoch_ns: int
    rng: np.random.Generator
    samples: list[PtpSample] = field(default_factory=list)
    """What pmc would have read since the monitor last took them."""
    reports: bool = True
    """Whether ``samples`` are kept: False for a host another process presents (its clocks still run, drawing
    the same random numbers, since they may steer what this process shows)."""

    def __post_init__(self) -> None:
        rng, spec = self.rng, self.spec
        self.noise = HARDWARE if spec.hardware else SOFTWARE
        self._drift = rng.uniform(-20e-6, 20e-6)
        self._wander = (rng.uniform(0.05, 0.3) * 1e-6, rng.uniform(200.0, 900.0) * 1e9, rng.uniform(0, 2 * math.pi))
        self._path_ns = rng.uniform(*self.noise.path_delay_ns)
        self._asym_ns = rng.uniform(-1.0, 1.0) * self.noise.asym_fraction * self._path_ns
        start = self.epoch_ns - round(spec.running_s * 1e9) if spec.role is HostRole.PTP else self.epoch_ns
        offset0 = 0 if spec.role is HostRole.REFERENCE else int(rng.uniform(-5e6, 5e6))
        self._boot_ns = self.reference.ns(start) + offset0 - int(rng.uniform(3_600.0, 30 * 86_400.0) * 1e9)
        freq0 = 0.0 if spec.role is HostRole.REFERENCE else self._intrinsic(start)
        self._segments = [_Segment(start, self.reference.ns(start) + offset0, freq0, 0)]
        self._t0s = [start]
        self._listen_until = start + int(rng.uniform(1.0, 4.0) * 1e9)
        self._next_tick = start + int(rng.uniform(0, spec.sync_interval_ns))
        self._steps = sorted(spec.clock_steps)
        self._losses = sorted(spec.losses)
        self._servo = _Servo()
        self._port = PortState.LISTENING
        self._done_ns = start
        self.advance_to(self.epoch_ns)

    # --- readings -------------------------------------------------------------------------------

    def _segment(self, t_true_ns: int) -> _Segment:
        if t_true_ns > self._done_ns:
            self.advance_to(t_true_ns)
        i = bisect.bisect_right(self._t0s, t_true_ns) - 1
        return self._segments[max(i, 0)]

    def realtime_ns(self, t_true_ns: int) -> int:
        """The system clock (CLOCK_REALTIME) at true time ``t_true_ns``."""
        seg = self._segment(t_true_ns)
        dt = t_true_ns - seg.t0
        return seg.r0 + dt + round(dt * seg.freq)

    def mono_ns(self, t_true_ns: int) -> int:
        """The monotonic clock (CLOCK_MONOTONIC): the system clock minus its steps, from boot."""
        seg = self._segment(t_true_ns)
        dt = t_true_ns - seg.t0
        return seg.r0 - seg.stepped - self._boot_ns + dt + round(dt * seg.freq)

    def error_ns(self, t_true_ns: int) -> int:
        """The system clock minus the reference (what a perfect PTP measurement would read)."""
        return self.realtime_ns(t_true_ns) - self.reference.ns(t_true_ns)

    def inject(self, *, step: tuple[int, int] | None = None, loss: tuple[int, int] | None = None) -> None:
        """A fault while the simulation runs (at a time not yet simulated, or now): ``step`` = (true time ns,
        step ns), ``loss`` = (begin, end) true time ns."""
        if step is not None:
            self._steps.append((max(step[0], self._done_ns), step[1]))
            self._steps.sort()
        if loss is not None:
            self._losses.append((max(loss[0], self._done_ns), loss[1]))

    # --- evolution ------------------------------------------------------------------------------

    def _intrinsic(self, t: int) -> float:
        amplitude, period, phase = self._wander
        return self._drift + amplitude * math.sin(2 * math.pi * t / period + phase)

    def _set(self, t: int, *, freq: float | None = None, step: int = 0) -> None:
        seg = self._segments[-1]
        dt = t - seg.t0
        r = seg.r0 + dt + round(dt * seg.freq) + step
        new = _Segment(t, r, seg.freq if freq is None else freq, seg.stepped + step)
        if t == seg.t0:
            self._segments[-1] = new
        else:
            self._segments.append(new)
            self._t0s.append(t)
        if len(self._t0s) > 64 and self._t0s[32] < t - HISTORY_NS:
            del self._segments[:32], self._t0s[:32]

    def advance_to(self, t_true_ns: int) -> None:
        """Run the host's clock events (hand steps, Sync intervals) up to ``t_true_ns``."""
        while True:
            step_at = self._steps[0][0] if self._steps else None
            if step_at is not None and step_at <= min(self._next_tick, t_true_ns):
                at, delta = self._steps.pop(0)
                self._done_ns = max(self._done_ns, at)
                self._set(at, step=delta)  # a reference host's steps are the reference's (SimWorld registers them)
                continue
            if self._next_tick > t_true_ns:
                break
            t = self._next_tick
            self._done_ns = max(self._done_ns, t)
            self._tick(t)
            self._next_tick = t + self.spec.sync_interval_ns
        self._done_ns = max(self._done_ns, t_true_ns)

    def _lost(self, t: int) -> int | None:
        """Start of the master loss ``t`` falls in, if any."""
        return next((a for a, b in self._losses if a <= t < b), None)

    def _tick(self, t: int) -> None:
        spec = self.spec
        if spec.role is HostRole.UNSYNCED:
            self._set(t, freq=self._intrinsic(t))
            return
        if spec.role is HostRole.REFERENCE:
            sys_offset = round(self.rng.normal(0.0, self.noise.sys_sigma_ns)) if spec.hardware else None
            self._emit(t, PortState.MASTER, 0, 0, sys_offset)
            return
        lost_since = self._lost(t)
        if t < self._listen_until or lost_since is not None:
            self._set(t, freq=self._intrinsic(t) + self._servo.adj_ppb * 1e-9)  # holdover: last correction kept
            if lost_since is not None:
                self._servo = _Servo(integral_ppb=self._servo.integral_ppb, adj_ppb=self._servo.adj_ppb)
                if t - lost_since >= ANNOUNCE_TIMEOUT_NS:
                    self._port = PortState.LISTENING
            if self._port is PortState.LISTENING:
                self._emit(t, PortState.LISTENING, None, None, None)
            return
        noise = self.noise
        spike = self.rng.exponential(noise.spike_mean_ns) if self.rng.random() < noise.spike_p else 0.0
        measured = round(self.error_ns(t) + self._asym_ns + self.rng.normal(0.0, noise.ts_sigma_ns) + spike)
        path = round(self._path_ns + abs(self.rng.normal(0.0, noise.path_jitter_ns)))
        sys_offset = round(self.rng.normal(0.0, noise.sys_sigma_ns)) if spec.hardware else None
        at = (self.realtime_ns(t), self.mono_ns(t))  # the measurement's instant, before the servo acts on it
        if spec.mode is PtpMode.OBSERVE:
            self._port = PortState.UNCALIBRATED  # free_running: the servo never locks
            self._set(t, freq=self._intrinsic(t))
        else:
            self._steer(t, measured)
        self._emit(t, self._port, measured - (sys_offset or 0), path, sys_offset, at)

    def _steer(self, t: int, m: int) -> None:
        """ptp4l's PI servo on one offset sample (and the port state that follows from it)."""
        s, noise = self._servo, self.noise
        interval_s = self.spec.sync_interval_ns / 1e9
        step = 0
        if s.count >= 2 and abs(m) > STEP_THRESHOLD_NS:
            s.count = 0  # far off while locked: the servo starts over (and steps on relock)
        if s.count == 0:
            s.count, s.m1, s.t1 = 1, m, t
            self._port = PortState.UNCALIBRATED
        elif s.count == 1:
            s.integral_ppb += (m - s.m1) / ((t - s.t1) / 1e9)  # the frequency error left by the correction
            s.adj_ppb = -s.integral_ppb
            if abs(m) > FIRST_STEP_THRESHOLD_NS:
                step = -m
            s.count = 2
        else:
            kp, ki = noise.gains(interval_s)
            ki_term = ki * m
            s.adj_ppb = -(kp * m + s.integral_ppb + ki_term)
            s.integral_ppb += ki_term
            self._port = PortState.SLAVE
        freq = self._intrinsic(t) + min(max(s.adj_ppb * 1e-9, -SYSTEM_MAX_FREQ), SYSTEM_MAX_FREQ)
        self._set(t, freq=freq, step=step)

    def _emit(self, t: int, port: PortState, offset: int | None, path: int | None, sys_offset: int | None,
              at: tuple[int, int] | None = None) -> None:
        if not self.reports or t < self.epoch_ns - 2 * self.spec.sync_interval_ns:
            return  # another process's host, or before the simulation: nobody polls yet
        master = offset is not None
        realtime, mono = at if at is not None else (self.realtime_ns(t), self.mono_ns(t))
        self.samples.append(PtpSample(host=self.spec.name, host_ns=realtime, mono_ns=mono,
                                      port_state=port, offset_ns=offset, mean_path_delay_ns=path,
                                      gm_identity=self.spec.gm_identity if master else None, gm_present=master,
                                      sys_offset_ns=sys_offset, steps_removed=1 if master else None))


def gm_identity(name: str) -> str:
    """A PTP clock identity (EUI-64 from a MAC: ``xxxxxx.fffe.xxxxxx``) for a grandmaster, stable per name."""
    h = hashlib.sha1(name.encode()).hexdigest()
    return f"{h[:6]}.fffe.{h[6:12]}"


def host_clock_spec(rig: RigSpec, plan: Plan, host: str, epoch_ns: int) -> HostClockSpec:
    """How the simulator models one host's clocks, from its planned role and the rig's host faults."""
    setup, ptp = plan.host(host), plan.ptp_of(host)
    steps = tuple((epoch_ns + round(f.at_s * 1e9), round((f.step_ms or 0.0) * 1e6))
                  for f in rig.faults if f.host == host and f.kind is FaultKind.CLOCK_STEP)
    losses = tuple((epoch_ns + round(f.at_s * 1e9), epoch_ns + round((f.at_s + f.duration_s) * 1e9))
                   for f in rig.faults if f.host == host and f.kind is FaultKind.PTP_LOSS)
    return HostClockSpec(name=host, role=setup.clock_role, mode=setup.ptp_mode,
                         hardware=setup.timestamping == "hardware",
                         sync_interval_ns=ptp.sync_interval_ns,
                         running_s=rig.sim.ptp_running_s, gm_identity=gm_identity(ptp.grandmaster),
                         clock_steps=steps, losses=losses)
