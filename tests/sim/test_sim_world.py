"""The simulator behaves as the source documents say the cameras do (checked against its ground truth)."""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np
import pytest

from rigsync.core.frame import Frame, FrameFlags, TimestampSemantics
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.drivers.sim._model import SIM_EPOCH_NS
from rigsync.drivers.sim.driver import SimClock, SimDriver
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.spec import loads_rig

S = 1_000_000_000

HOST = """
[sim]
seed = {seed}
render_width = 64

[[hosts]]
name = "h"
usb_controllers = [{{ name = "c0" }}, {{ name = "c1" }}, {{ name = "c2" }}, {{ name = "c3" }}]
"""


def kinect(i: int, ctrl: str = "c0", *, exposure: str = "exposure_us = 8000", extra: str = "",
           pose: str = "") -> str:
    return f"""
[[devices]]
id = "k{i}"
model = "azure-kinect-dk"
serial = "K{i}"
host = "h"
connection = "usb:{ctrl}"
{pose}
streams = [
  {{ kind = "color", width = 1280, height = 720, fps = 30, {exposure} }},
  {{ kind = "depth", width = 640, height = 576, fps = 30 }},
]
{extra}
"""


def d435(i: int, depth_fps: int = 90, ctrl: str = "c1") -> str:
    return f"""
[[devices]]
id = "r{i}"
model = "realsense-d435"
serial = "R{i}"
host = "h"
connection = "usb:{ctrl}"
streams = [
  {{ kind = "depth", width = 848, height = 480, fps = {depth_fps}, exposure_us = 5000 }},
  {{ kind = "color", width = 848, height = 480, fps = 30 }},
]
"""


class Run:
    """A simulated rig driven on a virtual clock: all frames, events and truth of a few seconds."""

    def __init__(self, text: str, seconds: float = 2.0, seed: int = 1, start_order: list[str] | None = None,
                 poll_every_ns: int = 5_000_000) -> None:
        rig = loads_rig(HOST.format(seed=seed) + text, "test.toml")
        self.world = SimWorld(rig, build_plan(rig))
        self.truth: list[FrameTruth] = []
        self.world.truth_sink = self.truth.append
        self.frames: dict[tuple[str, str], list[Frame]] = defaultdict(list)
        self.events: list[DeviceEvent] = []
        order = start_order or list(build_plan(rig).start_order)
        for device_id in order:
            self.world.start_device(device_id)
        end = SIM_EPOCH_NS + int(seconds * S)
        t = SIM_EPOCH_NS
        while t < end:
            t += poll_every_ns
            self.world.advance_to(t)
            for dev in rig.devices:
                for item in self.world.take(dev.id):
                    if isinstance(item, Frame):
                        self.frames[(item.device, item.stream)].append(item)
                    else:
                        self.events.append(item)

    def truth_of(self, device: str, stream: str) -> list[FrameTruth]:
        return [t for t in self.truth if t.device == device and t.stream == stream]


def test_deterministic_for_a_seed() -> None:
    """The same rig and seed give the same truth and timestamps; another seed does not."""
    text = kinect(0) + kinect(1, "c1")
    a, b, c = Run(text, 1.0, seed=5), Run(text, 1.0, seed=5), Run(text, 1.0, seed=6)
    stamps = lambda r: [(f.device, f.seq, f.device_ts_ns, f.host_rx_ns) for fs in r.frames.values() for f in fs]  # noqa: E731
    assert a.truth == b.truth and stamps(a) == stamps(b)
    assert stamps(a) != stamps(c)


def test_free_running_crystal_drift() -> None:
    """A device crystal 80 ppm fast runs its frame clock 80 ppm fast in true time; its own timestamps step by
    exactly one nominal period."""
    run = Run(kinect(0, extra="[devices.sim]\ndrift_ppm = 80.0"), 3.0)
    starts = np.array([t.exposure_start_ns for t in run.truth_of("k0", "color")])
    period = np.median(np.diff(starts))
    assert period == pytest.approx(33_333_333 / (1 + 80e-6), abs=30)
    ts = np.array([f.device_ts_ns for f in run.frames[("k0", "color")]])
    assert np.all(np.abs(np.diff(ts) - 33_333_000) <= 1_000)  # 1 us ticks, wander below a microsecond


def test_daisy_chain_subordinates_follow_the_master_with_their_delays() -> None:
    """Each subordinate exposes at the master's trigger plus propagation plus its declared delay."""
    group = """
[[sync]]
name = "chain"
method = "hardware"
topology = "daisy-chain"
source = { device = "k0" }
members = [{ device = "k0" }, { device = "k1", delay_us = 160 }, { device = "k2", delay_us = 320 }]
"""
    run = Run(kinect(0) + kinect(1, "c1") + kinect(2, "c2") + group, 2.0)
    by_trigger: dict[str, dict[str, int]] = defaultdict(dict)
    for t in run.truth:
        if t.stream == "color":
            assert t.trigger_id is not None and t.trigger_id.startswith("chain/")
            by_trigger[t.trigger_id][t.device] = t.exposure_start_ns
    complete = [v for v in by_trigger.values() if len(v) == 3]
    assert len(complete) > 50
    for v in complete:
        assert v["k1"] - v["k0"] == pytest.approx(160_000 + 15, abs=600)  # 3 m of cable + jitter
        assert v["k2"] - v["k0"] == pytest.approx(320_000 + 80, abs=600)  # one more hop re-drive


def test_subordinate_timestamps_are_start_of_frame() -> None:
    """Kinects in master/subordinate roles stamp the start of exposure; standalone ones the centre."""
    group = """
[[sync]]
name = "star"
method = "hardware"
topology = "star"
source = { device = "k0" }
members = [{ device = "k0" }, { device = "k1" }]
"""
    synced = Run(kinect(0) + kinect(1, "c1") + group, 0.5)
    alone = Run(kinect(0), 0.5)
    assert {f.semantics for f in synced.frames[("k1", "color")]} == {TimestampSemantics.START_OF_EXPOSURE}
    assert {f.semantics for f in alone.frames[("k0", "color")]} == {TimestampSemantics.CENTER_OF_EXPOSURE}


def test_genlock_ignores_triggers_in_its_blind_window() -> None:
    """A Genlock camera at 90 fps native ignores triggers within two native frame times: a 60 Hz trigger
    yields frames on every other trigger only (seeds/004)."""
    text = d435(0) + """
[[triggers]]
name = "gen"
rate_hz = RATE
level_v = 1.8
[[sync]]
name = "g"
method = "genlock"
topology = "star"
source = { trigger = "gen" }
members = [{ device = "r0" }]
"""
    ok = Run(text.replace("RATE", "45"), 2.0)
    fast = Run(text.replace("RATE", "60"), 2.0)
    trig_ok = [int(t.trigger_id.split("/")[1]) for t in ok.truth_of("r0", "depth")]
    trig_fast = [int(t.trigger_id.split("/")[1]) for t in fast.truth_of("r0", "depth")]
    assert set(np.diff(trig_ok)) == {1}
    assert set(np.diff(trig_fast)) == {2}


def test_genlock_bursts_at_the_native_rate() -> None:
    """Burst count N gives N frames per trigger, one native frame apart (modes 4-258: burst = mode - 3)."""
    text = d435(0) + """
[[triggers]]
name = "gen"
rate_hz = 10
level_v = 1.8
[[sync]]
name = "g"
method = "genlock"
topology = "star"
source = { trigger = "gen" }
burst = 3
members = [{ device = "r0" }]
"""
    run = Run(text, 1.5)
    per_trigger: dict[str, list[int]] = defaultdict(list)
    for t in run.truth_of("r0", "depth"):
        per_trigger[t.trigger_id or ""].append(t.exposure_start_ns)
    assert {len(v) for v in per_trigger.values()} == {3}
    for starts in per_trigger.values():
        assert np.allclose(np.diff(starts), 11_111_111, atol=1)


def test_d435_colour_is_not_genlocked() -> None:
    """In Genlock the D435 colour sensor free-runs (no trigger id); depth follows the trigger."""
    text = d435(0) + d435(1) + """
[[sync]]
name = "g"
method = "genlock"
topology = "star"
source = { device = "r0" }
members = [{ device = "r0" }, { device = "r1" }]
"""
    run = Run(text.replace("fps = 90", "fps = 90", 1).replace('id = "r0"', 'id = "r0"', 1), 1.0)
    assert all(t.trigger_id is None for t in run.truth_of("r1", "color"))
    assert all(t.trigger_id is not None for t in run.truth_of("r1", "depth"))


def test_overlapping_tof_lasers_interfere_unless_offset_by_160_us() -> None:
    """Two Kinects seeing the same scene interfere when their depth captures coincide, not when they are
    160 us apart (seeds/001)."""
    group = """
[[sync]]
name = "star"
method = "hardware"
topology = "star"
source = {{ device = "k0" }}
members = [{{ device = "k0" }}, {{ device = "k1", delay_us = {delay} }}]
"""
    together = Run(kinect(0) + kinect(1, "c1") + group.format(delay=0), 1.0)
    apart = Run(kinect(0) + kinect(1, "c1") + group.format(delay=160), 1.0)
    flagged = [f for f in together.frames[("k1", "depth")] if f.flags & FrameFlags.INTERFERED]
    assert len(flagged) == len(together.frames[("k1", "depth")]) > 0
    assert not any(f.flags & FrameFlags.INTERFERED for fs in apart.frames.values() for f in fs)


def test_tof_cameras_facing_away_do_not_interfere() -> None:
    """Non-overlapping fields of view need no offset."""
    out = 'pose = {{ position = [{x}, 0.0, 1.5], look_at = [{y}, 0.0, 1.5] }}'
    group = """
[[sync]]
name = "star"
method = "hardware"
topology = "star"
source = { device = "k0" }
members = [{ device = "k0" }, { device = "k1" }]
"""
    run = Run(kinect(0, pose=out.format(x=1.0, y=9.0)) + kinect(1, "c1", pose=out.format(x=-1.0, y=-9.0)) + group, 1.0)
    assert not any(f.flags & FrameFlags.INTERFERED for fs in run.frames.values() for f in fs)


def zed(i: int, ctrl: str) -> str:
    return f"""
[[devices]]
id = "z{i}"
model = "zed-2i"
serial = "Z{i}"
host = "h"
connection = "usb:{ctrl}"
streams = [{{ kind = "color", width = 1920, height = 1080, fps = 30 }}]
"""


def test_usb_controller_over_budget_corrupts_and_drops_frames() -> None:
    """Three ZEDs at 1080p30 (~750 MB/s) on one 620 MB/s controller give corrupted and lost frames; spread over
    controllers they do not (seeds/000)."""
    shared = Run(zed(0, "c0") + zed(1, "c0") + zed(2, "c0"), 2.0)
    spread = Run(zed(0, "c0") + zed(1, "c1") + zed(2, "c2"), 2.0)
    frames = [f for fs in shared.frames.values() for f in fs]
    assert sum(bool(f.flags & FrameFlags.CORRUPT) for f in frames) > 0.2 * len(frames)
    assert sum(not t.delivered for t in shared.truth) > 0.1 * len(shared.truth)
    assert all(t.delivered for t in spread.truth)
    assert not any(f.flags & FrameFlags.CORRUPT for fs in spread.frames.values() for f in fs)


def test_disconnect_and_reconnect() -> None:
    """A disconnect loses the frames of the outage, raises events, and the device comes back with its clock
    and frame counters restarted."""
    fault = '[[faults]]\ndevice = "k0"\nkind = "disconnect"\nat_s = 0.8\nduration_s = 0.5\n'
    run = Run(kinect(0, extra="[devices.sim]\nclock_start_s = 1000.0") + fault, 2.5)
    kinds = [e.kind for e in run.events if e.device == "k0"]
    assert kinds == [EventKind.DISCONNECTED, EventKind.RECONNECTED]
    lost = [t for t in run.truth_of("k0", "color") if not t.delivered]
    # frames still on the cable when it went (exposed up to ~0.1 s before) are lost too
    assert lost and all(0.7 * S <= t.exposure_end_ns - SIM_EPOCH_NS < 1.5 * S for t in lost)
    frames = run.frames[("k0", "color")]
    restart = next(i for i in range(1, len(frames)) if frames[i].seq < frames[i - 1].seq)
    assert frames[restart].seq == 0
    assert frames[restart - 1].device_ts_ns > 1000 * S
    assert frames[restart].device_ts_ns < 1 * S


def test_32_bit_counter_wraps_and_is_unwrapped() -> None:
    """A RealSense 32-bit microsecond counter started just before its wrap (71.6 min) keeps increasing."""
    wrap_s = (1 << 32) / 1e6
    text = d435(0, depth_fps=30) + f"[devices.sim]\nclock_start_s = {wrap_s - 0.5}\n"
    run = Run(text, 1.5)
    ts = [f.device_ts_ns for f in run.frames[("r0", "depth")]]
    assert ts[0] < (1 << 32) * 1000 < ts[-1]
    assert all(b > a for a, b in itertools.pairwise(ts))


def test_random_drops_follow_the_rate() -> None:
    """A 5% link drop rate loses about 5% of frames, visible as gaps in the frame counter."""
    run = Run(kinect(0, extra="[devices.sim]\ndrop_rate = 0.05"), 6.0)
    truth = run.truth_of("k0", "color")
    lost = sum(not t.delivered for t in truth) / len(truth)
    assert 0.02 < lost < 0.09
    seqs = [f.seq for f in run.frames[("k0", "color")]]
    assert len(seqs) == len(truth) - sum(not t.delivered for t in truth)


def test_not_reading_in_time_overruns_the_driver_queue() -> None:
    """If rigsync does not poll for seconds, the driver queue overflows and says how many frames it lost."""
    run = Run(kinect(0), 3.0, poll_every_ns=3 * S)
    overruns = [e for e in run.events if e.kind is EventKind.OVERRUN]
    assert overruns and overruns[0].count > 0


def test_ptp_cameras_start_together_at_the_scheduled_time() -> None:
    """PTP cameras armed at different moments start at one scheduled PTP time and stay in step."""
    cams = "".join(f"""
[[devices]]
id = "g{i}"
model = "gige-ptp-area-scan"
serial = "G{i}"
host = "h"
connection = "eth:eth0"
streams = [{{ kind = "color", width = 1920, height = 1200, fps = 50, exposure_us = 1000 }}]
""" for i in range(3))
    group = ('[[sync]]\nname = "p"\nmethod = "ptp"\nmembers = [{ device = "g0" }, { device = "g1" }, '
             '{ device = "g2" }]\n[sync.ptp]\ngrandmaster = "external"\nstart_delay_s = 0.4\n')
    run = Run(cams + group, 1.5)
    firsts = {d: min(t.exposure_start_ns for t in run.truth if t.device == d) for d in ("g0", "g1", "g2")}
    assert max(firsts.values()) - min(firsts.values()) < 2_000
    assert abs(min(firsts.values()) - SIM_EPOCH_NS - 0.4 * S) < 1_000  # PTP residual: sub-microsecond
    by_trigger: dict[str, list[int]] = defaultdict(list)
    for t in run.truth:
        by_trigger[t.trigger_id or ""].append(t.exposure_start_ns)
    assert all(max(v) - min(v) < 2_000 for v in by_trigger.values())


def test_auto_exposure_pushes_triggered_cameras_out_of_step() -> None:
    """With auto exposure, triggered rolling-shutter colour cameras no longer start exposure together
    (seeds/001); with manual exposure they do."""
    group = """
[[sync]]
name = "star"
method = "hardware"
topology = "star"
source = { device = "k0" }
members = [{ device = "k0" }, { device = "k1" }]
"""

    def spread(exposure: str) -> float:
        run = Run(kinect(0, exposure=exposure) + kinect(1, "c1", exposure=exposure) + group, 2.0)
        by: dict[str, list[int]] = defaultdict(list)
        for t in run.truth:
            if t.stream == "color":
                by[t.trigger_id or ""].append(t.exposure_start_ns)
        return float(np.median([max(v) - min(v) for v in by.values() if len(v) == 2]))

    assert spread('exposure = "auto"') > 100_000
    assert spread("exposure_us = 8000") < 2_000


def test_gmsl_cameras_need_a_jetson_with_the_zed_link_driver() -> None:
    """ZED X cameras are not found on a host that is not a Jetson with the ZED Link driver."""
    for platform, link_driver, expected in (("x86_64", "true", 0), ("jetson", "false", 0), ("jetson", "true", 1)):
        text = f"""
[[hosts]]
name = "j"
platform = "{platform}"
zed_link_driver = {link_driver}
capture_cards = [{{ name = "q", model = "zed-link-quad" }}]

[[devices]]
id = "x0"
model = "zed-x"
serial = "X0"
host = "j"
connection = "gmsl:q:0"
streams = [{{ kind = "color", width = 1920, height = 1200, fps = 30 }}]
"""
        rig = loads_rig(text, "t.toml")
        driver = SimDriver(SimWorld(rig, build_plan(rig)), SimClock(fast=True))
        assert len(driver.discover()) == expected


def test_faults_can_be_injected_through_the_api() -> None:
    """A fault injected while the simulation runs acts like one from the rig file."""
    from rigsync.spec.sync import FaultKind, FaultSpec

    rig = loads_rig(HOST.format(seed=1) + kinect(0), "t.toml")
    world = SimWorld(rig, build_plan(rig))
    world.start_device("k0")
    world.advance_to(SIM_EPOCH_NS + S // 2)
    world.take("k0")
    world.inject(FaultSpec(FaultKind.DROP_BURST, at_s=0.6, duration_s=0.4, device="k0"))
    truth: list[FrameTruth] = []
    world.truth_sink = truth.append
    world.advance_to(SIM_EPOCH_NS + 2 * S)
    lost = [t for t in truth if not t.delivered]
    assert lost and all(0.6 * S <= t.exposure_end_ns - SIM_EPOCH_NS < 1.0 * S for t in lost)
    assert all(t.delivered for t in truth if t.exposure_end_ns - SIM_EPOCH_NS >= 1.0 * S)


def test_subordinates_wait_while_their_master_is_gone() -> None:
    """A Kinect master that disconnects takes its sync output with it: the subordinates expose nothing until it
    is back, then follow its restarted frame clock with their delays again."""
    group = """
[[sync]]
name = "chain"
method = "hardware"
topology = "daisy-chain"
source = { device = "k0" }
members = [{ device = "k0" }, { device = "k1", delay_us = 160 }]
[[faults]]
device = "k0"
kind = "disconnect"
at_s = 0.8
duration_s = 0.5
"""
    run = Run(kinect(0) + kinect(1, "c1") + group, 2.5)
    gone_ns = SIM_EPOCH_NS + round(0.8 * S)
    master = run.truth_of("k0", "color")  # its exposures during the outage are lost as "disconnected"
    back_ns = min(t.exposure_start_ns for t in master if t.delivered and t.exposure_start_ns > gone_ns)
    sub = run.truth_of("k1", "color")
    assert [t for t in sub if gone_ns < t.exposure_start_ns < back_ns] == []
    eras = [(lambda ns: ns < gone_ns), (lambda ns: ns >= back_ns)]  # trigger ids restart with the master
    for era in eras:
        pulses = {t.trigger_id: t.exposure_start_ns for t in master if era(t.exposure_start_ns)}
        lags = [t.exposure_start_ns - pulses[t.trigger_id] for t in sub if era(t.exposure_start_ns)]
        assert len(lags) > 15
        for lag in lags:
            assert lag == pytest.approx(160_000 + 15, abs=600)  # its delay plus 3 m of cable, jitter
