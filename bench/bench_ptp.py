"""PTP across hosts on the simulator: cross-host frameset spread vs truth, time to lock, recovery after a step.

1. Spread: a 3-host rig, one GigE camera per host, all three triggered by one external 30 Hz generator (their
   true exposures coincide to ~0.1 us), the hosts tied by PTP; and the same cameras in PTP frame sync instead
   (scheduled by their own PTP clocks, stamped on them). Per frameset: |spread of the rig-time stamps -
   spread of the true exposure starts| (what the stamps get wrong across hosts), plus each host's own clock
   error (its monotonic clock mapped to rig time vs the reference, sampled at every frame). Hardware vs
   software timestamping; baseline in the same run: the same rig with the hosts on their own clocks (no PTP,
   NTP-set to within +-5 ms), captured with --force.
2. Time to lock: ptp4l started with the capture (``[sim] ptp_running_s = 0``), 20 hosts per timestamping
   kind, 300 s each: until the port is SLAVE, until rigsync stops flagging the host unlocked, until the true
   error stays below 1 us (hardware) / 10 us (software).
3. Through a step: the grandmaster's clock set +1 s (seeds/000's test) and -500 ms, with host-stamped triggered
   cameras and with PTP cameras, and separately a slave's clock set 1 s ahead by hand: how long rig time holds
   the old timeline, until every stamp of c1 is back within 100 us of the reference for good (the rig's hold, then
   the 10 % slew), the cross-host frameset spread error while the step is held and slewed (against before it),
   the largest per-frame change of a stream's stamp interval, and stamps going backwards.

Run: python bench/bench_ptp.py  (one section: --sections 3)
"""

from __future__ import annotations

import argparse
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rigsync.capture.session import CaptureOptions, CaptureSession
from rigsync.core.frame import StampedFrame, TimeFlags
from rigsync.core.ptp import HostRole, PortState, PtpMode
from rigsync.drivers.sim.driver import SimDriver
from rigsync.drivers.sim.hosts import HostClockSpec, Reference, SimHost
from rigsync.plan import build_plan
from rigsync.record.reader import open_recording
from rigsync.spec import loads_rig
from rigsync.timebase.host import HostTimebase, HostTimebaseConfig
from rigsync.timebase.steps import StepSchedule

EPOCH = 1_790_000_000_000_000_000
S = 1_000_000_000

RIG = """
[rig]
name = "bench-three-hosts"
[sim]
seed = {seed}
{hosts}
{devices}
{sync}
{faults}
"""
TRIGGERED = """
[[triggers]]
name = "gen"
rate_hz = 30
[[sync]]
name = "trig"
method = "hardware"
topology = "star"
source = { trigger = "gen" }
members = [{ device = "c0" }, { device = "c1" }, { device = "c2" }]
"""
PTP_CAMERAS = """
[[sync]]
name = "clocks"
method = "ptp"
members = [{ device = "c0" }, { device = "c1" }, { device = "c2" }]
[sync.ptp]
grandmaster = "h0"
"""
PTP = """
[[sync]]
name = "clocks"
method = "ptp"
members = []
[sync.ptp]
grandmaster = "h0"
hosts = ["h0", "h1", "h2"]
"""


def rig_text(stamping: str, *, ptp: bool = True, ptp_cameras: bool = False, seed: int = 1, faults: str = "") -> str:
    hosts = "".join(f'[[hosts]]\nname = "h{i}"\nnics = [{{ name = "eth0", timestamping = "{stamping}", '
                    'speed_gbps = 10 }]\n' for i in range(3))
    devices = "".join(f'[[devices]]\nid = "c{i}"\nmodel = "gige-ptp-area-scan"\nserial = "B{i}"\nhost = "h{i}"\n'
                      'connection = "eth:eth0"\nstreams = [{ kind = "color", width = 1920, height = 1200, fps = 30, '
                      'format = "bayer_rggb8", exposure_us = 2000 }]\n' for i in range(3))
    sync = PTP_CAMERAS if ptp_cameras else TRIGGERED + (PTP if ptp else "")
    return RIG.format(seed=seed, hosts=hosts, devices=devices, sync=sync, faults=faults)


@dataclass
class Run:
    """One capture: framesets as {device: (stamp, true start)} by the set's rig time, c1's frames as (stamp, true
    start), every host's clock error sampled at each frame, the reference and the recorded step schedule."""

    sets: list[tuple[int, dict[str, tuple[int, int]]]]
    stream: list[tuple[int, int]]
    host_errors: list[int]
    reference: Reference
    schedule: StepSchedule

    def spreads(self, lo_ns: int, hi_ns: int) -> np.ndarray:
        """Per complete frameset with rig time in [lo, hi): max - min over its members of (stamp - true start)."""
        return np.array([max(d) - min(d) for t, m in self.sets if lo_ns <= t < hi_ns and len(m) == 3
                         for d in [[stamp - true for stamp, true in m.values()]]], dtype=float)


def capture(text: str, seconds: float, tmp: Path) -> Run:
    rig = loads_rig(text, "bench.toml")
    out = tmp / "bench.mcap"
    host_errors: list[int] = []
    box: list[CaptureSession] = []

    def observe(frame: StampedFrame) -> None:
        session = box[0]
        driver = next(iter(session._drivers.values()))
        assert isinstance(driver, SimDriver)
        world = driver.world
        host = rig.device(frame.frame.device).host
        t = world.now_ns
        at = session.clocks.to_rig(host, world.hosts[host].mono_ns(t))
        host_errors.append(at.rig_ns - world.reference.ns(t))

    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=seconds, fast=True, force=True),
                        frame_observer=observe) as session:
        box.append(session)
        session.run()
        driver = next(iter(session._drivers.values()))
        assert isinstance(driver, SimDriver)
        reference = driver.world.reference
    with open_recording(out) as rec:
        truth = {(t.device, t.stream, t.seq): t.exposure_start_ns for t in rec.truth()}
        sets = [(fs.rig_time_ns, {m.device: (m.rig_time_ns, truth[(m.device, m.stream, m.seq)]) for m in fs.members})
                for fs in rec.framesets()]
        stream = sorted((f.rig_time_ns, truth[(f.device, f.stream, f.seq)]) for f in rec.frames() if f.device == "c1")
        steps = [m for _, m in rec.json_messages("/rigsync/steps")]
    schedule = StepSchedule.from_json(steps[-1]["schedule"]) if steps else StepSchedule()
    return Run(sets, stream, host_errors, reference, schedule)


def bench_spread(tmp: Path, seconds: float) -> None:
    print(f"1. cross-host frameset spread vs truth ({seconds:g} s per run, framesets after 5 s)")
    print("| hosts' clocks | spread error p50 | p99 | max | host clock error p50 | p99 | max |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    results = {}
    for label, stamping, ptp, cams in (("PTP, hardware timestamping", "hardware", True, False),
                                       ("PTP, software timestamping", "software", True, False),
                                       ("no PTP (baseline)", "hardware", False, False),
                                       ("PTP cameras (stamped on their own PTP clocks)", "hardware", True, True)):
        run = capture(rig_text(stamping, ptp=ptp, ptp_cameras=cams), seconds, tmp)
        spread = run.spreads(EPOCH + 5 * S, EPOCH + round(seconds * 1e9))
        host = np.abs(np.array(run.host_errors[len(run.host_errors) // 4:], dtype=float))
        results[label] = np.percentile(spread, 99)
        print(f"| {label} | {_us(np.percentile(spread, 50))} | {_us(np.percentile(spread, 99))} | "
              f"{_us(spread.max())} | {_us(np.percentile(host, 50))} | {_us(np.percentile(host, 99))} | "
              f"{_us(host.max())} |")
    base = results["no PTP (baseline)"]
    print(f"p99 spread error, baseline / PTP: hardware {base / results['PTP, hardware timestamping']:.0f}x, "
          f"software {base / results['PTP, software timestamping']:.0f}x")


def lock_times(hardware: bool, seeds: int) -> tuple[list[float], list[float], list[float], list[float]]:
    """Per host: to port SLAVE, to rigsync's unlocked flag cleared, to the true error settled (within 1 us / 5 us
    of where it ends up), and where it ends up (|error| over the last minute: the path asymmetry PTP cannot see)."""
    to_slave, to_flag, to_settled, final = [], [], [], []
    band = 1_000 if hardware else 5_000
    for seed in range(seeds):
        spec = HostClockSpec(name="h", role=HostRole.PTP, mode=PtpMode.DISCIPLINE, hardware=hardware, running_s=0.0)
        host = SimHost(spec, Reference(), EPOCH, np.random.default_rng([seed, 7]))
        tb = HostTimebase("h", HostTimebaseConfig(role=HostRole.PTP, mode=PtpMode.DISCIPLINE))
        slave = flag = None
        errors = []
        for k in range(1, 3001):  # 300 s in 100 ms steps
            t = EPOCH + k * 100_000_000
            host.advance_to(t)
            for sample in host.samples:
                tb.add(sample)
                if slave is None and sample.port_state is PortState.SLAVE:
                    slave = t
            host.samples.clear()
            at = tb.to_rig(host.mono_ns(t))
            if flag is None and slave is not None and not at.flags & TimeFlags.PTP_UNLOCKED:
                flag = t
            errors.append(host.error_ns(t))
        steady = float(np.median(errors[-600:]))
        outside = [k for k, e in enumerate(errors) if abs(e - steady) > band]
        to_slave.append(((slave or t) - EPOCH) / 1e9)
        to_flag.append(((flag or t) - EPOCH) / 1e9)
        to_settled.append((outside[-1] + 2) * 0.1 if outside else 0.1)
        final.append(abs(steady))
    return to_slave, to_flag, to_settled, final


def bench_lock(seeds: int) -> None:
    print(f"\n2. time to lock after ptp4l starts ({seeds} hosts each, 300 s; seconds: median / max)")
    print("| timestamping | port SLAVE | rigsync: no longer flagged unlocked | true error settled (within) | "
          "settled error: median / max |")
    print("| --- | --- | --- | --- | --- |")
    for label, hardware in (("hardware", True), ("software", False)):
        slave, flag, settled, final = lock_times(hardware, seeds)
        band = "1 us" if hardware else "5 us"
        print(f"| {label} | {np.median(slave):.1f} / {max(slave):.1f} | {np.median(flag):.1f} / {max(flag):.1f} | "
              f"{np.median(settled):.1f} / {max(settled):.1f} ({band}) | {_us(float(np.median(final)))} / "
              f"{_us(max(final))} |")


def bench_recovery(tmp: Path) -> None:
    print("\n3. a step at 5 s, 30 s runs, hardware timestamping; rig time follows the rig's step schedule (stream c1 "
          "on slave host h1; spread error per complete frameset, as in section 1)")
    print("| step | cameras | hold (c1 on the old timeline) | back within 100 us of the reference | spread error "
          "during the step: p50 / p99 / max | before it: max | largest interval change per frame | backwards |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    step_true = EPOCH + 5 * S
    for label, host, step_ms, cams in (("grandmaster's clock set +1 s", "h0", 1000, False),
                                       ("grandmaster's clock set -500 ms", "h0", -500, False),
                                       ("grandmaster's clock set +1 s", "h0", 1000, True),
                                       ("slave h1's clock set +1 s by hand", "h1", 1000, False)):
        fault = f'[[faults]]\nhost = "{host}"\nkind = "clock-step"\nat_s = 5\nstep_ms = {step_ms}\n'
        run = capture(rig_text("hardware", ptp_cameras=cams, faults=fault), 30, tmp)
        stamps = np.array([s for s, _ in run.stream], dtype=np.int64)
        true = np.array([t for _, t in run.stream], dtype=np.int64)
        reference = np.array([run.reference.ns(int(t)) for t in true], dtype=np.int64)
        bad = np.nonzero(np.abs(stamps - reference) > 100_000)[0]
        recovered = (true[bad[-1]] - step_true) / 1e9 if len(bad) else 0.0
        steps = run.schedule.steps
        if steps:
            old = reference - np.where(true >= step_true, steps[0].step_ns, 0)  # the timeline before the step
            moved = np.nonzero((true >= step_true) & (np.abs(stamps - old) > 100_000))[0]
            hold = f"{(true[moved[0]] - step_true) / 1e9:.1f} s" if len(moved) else "-"
            during = run.spreads(run.schedule.rig_ns(steps[0].at_base_ns), run.schedule.rig_ns(steps[0].done_base_ns))
            spread = " / ".join(_us(v) for v in (np.percentile(during, 50), np.percentile(during, 99), during.max()))
        else:
            hold, spread = "- (no step of the reference)", "-"
        before = run.spreads(EPOCH + S, step_true)
        interval = np.diff(stamps)
        change = np.abs(np.diff(interval)) / np.median(interval)
        print(f"| {label} | {'PTP cameras' if cams else 'triggered, host-stamped'} | {hold} | "
              f"{recovered:.1f} s after the step | {spread} | {_us(before.max())} | {change.max():.1%} | "
              f"{int(np.sum(interval <= 0))} |")


def _us(ns: float) -> str:
    return f"{ns / 1000:.2f} us" if ns < 1e6 else f"{ns / 1e6:.2f} ms"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--hosts", type=int, default=20, help="hosts per timestamping kind for the lock times")
    p.add_argument("--sections", default="123", help="which sections to run (default: 123)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if "1" in args.sections:
            bench_spread(Path(tmp), args.seconds)
        if "2" in args.sections:
            bench_lock(args.hosts)
        if "3" in args.sections:
            bench_recovery(Path(tmp))


if __name__ == "__main__":
    main()
