"""The plan drives the capture: a rig breaking a rule is reported, and the simulator then behaves as the
hardware would (forced captures, checked against the simulator's truth)."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest

from rigsync.capture import CaptureOptions, CaptureSession, PlanError
from rigsync.core.errors import DriverError
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.record.reader import open_recording
from rigsync.spec import loads_rig

HOST = """
[sim]
render_width = 64

[[hosts]]
name = "h"
usb_controllers = [{ name = "c0" }, { name = "c1" }, { name = "c2" }, { name = "c3" }]
"""


def kinect(i: int, *, color: str = "exposure_us = 8000", host: str = "h") -> str:
    return f"""
[[devices]]
id = "k{i}"
model = "azure-kinect-dk"
serial = "K{i}"
host = "{host}"
connection = "usb:c{i % 4}"
streams = [{{ kind = "color", width = 1280, height = 720, fps = 30, {color} }}, {{ kind = "depth", width = 640, height = 576, fps = 30 }}]
"""


def bolt(i: int) -> str:
    return f"""
[[devices]]
id = "b{i}"
model = "orbbec-femto-bolt"
serial = "B{i}"
host = "h"
connection = "usb:c{i % 4}"
streams = [{{ kind = "depth", width = 640, height = 576, fps = 30 }}]
"""


def d435(i: int, *, model: str = "realsense-d435", fps: int = 90) -> str:
    return f"""
[[devices]]
id = "r{i}"
model = "{model}"
serial = "R{i}"
host = "h"
connection = "usb:c{i % 4}"
streams = [{{ kind = "depth", width = 848, height = 480, fps = {fps}, exposure_us = 5000 }}]
"""


def rules(plan: Plan) -> set[str]:
    return {d.rule for d in plan.diagnostics}


class Capture:
    """A forced --fast capture of a rig, read back with its truth."""

    def __init__(self, text: str, tmp: Path, seconds: float = 2.0) -> None:
        self.plan = build_plan(loads_rig(HOST + text, "rig.toml"))
        out = tmp / "c.mcap"
        with CaptureSession(self.plan, CaptureOptions(out=out, seconds=seconds, fast=True, force=True)) as s:
            self.result = s.run()
        with open_recording(out) as rec:
            self.truth = list(rec.truth())
            self.frames = list(rec.frames())
            self.framesets = list(rec.framesets())

    def count(self, device: str, stream: str | None = None) -> int:
        return sum(1 for f in self.frames if f.device == device and (stream is None or f.stream == stream))

    def triggers(self, device: str) -> list[int]:
        return sorted(int(t.trigger_id.split("/")[1]) for t in self.truth if t.device == device and t.trigger_id)


def test_errors_stop_the_capture_unless_forced(tmp_path: Path) -> None:
    """rigsync capture refuses a rig whose plan has errors, naming them; --force captures anyway."""
    text = HOST + kinect(0) + kinect(1) + """
[[sync]]
name = "s"
method = "hardware"
topology = "star"
source = { device = "k0" }
members = [{ device = "k0" }, { device = "k1" }]
"""
    plan = build_plan(loads_rig(text, "rig.toml"))
    with pytest.raises(PlanError, match="TOF-INTERFERENCE"):
        CaptureSession(plan, CaptureOptions(out=tmp_path / "x.mcap", seconds=1, fast=True))
    CaptureSession(plan, CaptureOptions(out=tmp_path / "x.mcap", seconds=1, fast=True, force=True))


def test_trigger_out_disabled_upstream_leaves_the_secondary_without_frames(tmp_path: Path) -> None:
    """ORBBEC-TRIGGER-OUT: the SECONDARY never gets a trigger and produces no frames; the primary does."""
    text = bolt(0) + bolt(1) + """
[[sync]]
name = "b"
method = "hardware"
topology = "daisy-chain"
source = { device = "b0" }
members = [{ device = "b0", trigger_out = false }, { device = "b1", depth_delay_us = 160 }]
"""
    cap = Capture(text, tmp_path)
    assert "ORBBEC-TRIGGER-OUT" in rules(cap.plan)
    assert cap.count("b0") > 40 and cap.count("b1") == 0


def test_overlapping_tof_windows_interfere(tmp_path: Path) -> None:
    """TOF-INTERFERENCE: depth frames come flagged interfered; 160 us apart they do not."""
    group = """
[[sync]]
name = "s"
method = "hardware"
topology = "star"
source = {{ device = "k0" }}
members = [{{ device = "k0" }}, {{ device = "k1", delay_us = {delay} }}]
"""
    bad = Capture(kinect(0) + kinect(1) + group.format(delay=0), tmp_path)
    assert "TOF-INTERFERENCE" in rules(bad.plan)
    depth = [f for f in bad.frames if f.stream == "depth"]
    assert depth and all("interfered" in f.flags for f in depth)
    good = Capture(kinect(0) + kinect(1) + group.format(delay=160), tmp_path)
    assert "TOF-INTERFERENCE" not in rules(good.plan)
    assert not any("interfered" in f.flags for f in good.frames)


def test_usb_over_budget_corrupts_and_loses_frames(tmp_path: Path) -> None:
    """USB-BANDWIDTH: three ZEDs at 1080p30 on one controller yield corrupted frames and gaps."""
    zed = """
[[devices]]
id = "z{i}"
model = "zed-2i"
serial = "Z{i}"
host = "h"
connection = "usb:c0"
streams = [{{ kind = "color", width = 1920, height = 1080, fps = 30 }}]
"""
    cap = Capture("".join(zed.format(i=i) for i in range(3)), tmp_path)
    assert "USB-BANDWIDTH" in rules(cap.plan)
    assert sum("corrupt" in f.flags for f in cap.frames) > 0.2 * len(cap.frames)
    assert sum(not t.delivered for t in cap.truth) > 0.1 * len(cap.truth)


def test_a_trigger_below_the_input_threshold_is_never_seen(tmp_path: Path) -> None:
    """SIGNAL-LEVEL: a 1.8 V generator into a Kinect's 5 V TTL input: the Kinect waits and delivers nothing."""
    text = kinect(0) + """
[[triggers]]
name = "gen"
rate_hz = 30
level_v = 1.8

[[sync]]
name = "s"
method = "hardware"
topology = "daisy-chain"
source = { trigger = "gen" }
members = [{ device = "k0" }]
"""
    cap = Capture(text, tmp_path)
    assert "SIGNAL-LEVEL" in rules(cap.plan)
    assert cap.count("k0") == 0


def test_genlock_triggered_too_fast_loses_every_other_trigger(tmp_path: Path) -> None:
    """RS-GENLOCK-RATE: at 60 Hz into a 90 fps Genlock camera, only every other trigger yields a frame."""
    text = d435(0) + """
[[triggers]]
name = "gen"
rate_hz = 60
level_v = 1.8
pulse_width_us = 150

[[sync]]
name = "g"
method = "genlock"
topology = "star"
source = { trigger = "gen" }
members = [{ device = "r0" }]
"""
    cap = Capture(text, tmp_path)
    assert "RS-GENLOCK-RATE" in rules(cap.plan)
    steps = Counter(b - a for a, b in zip(cap.triggers("r0"), cap.triggers("r0")[1:], strict=False))
    assert steps.most_common(1)[0][0] == 2


def test_star_beyond_two_subordinates_misses_triggers(tmp_path: Path) -> None:
    """K4A-STAR-MAX: with four subordinates on one splitter the subordinates miss pulses."""
    members = ", ".join(f'{{ device = "k{i}", delay_us = {160 * i} }}' for i in range(5))
    text = "".join(kinect(i) for i in range(5)) + f"""
[[sync]]
name = "s"
method = "hardware"
topology = "star"
source = {{ device = "k0" }}
members = [{members}]
"""
    cap = Capture(text, tmp_path)
    assert "K4A-STAR-MAX" in rules(cap.plan)
    master = cap.count("k0", "color")
    assert all(cap.count(f"k{i}", "color") < 0.8 * master for i in range(1, 5))


def test_realsense_slave_at_another_rate_fires_on_its_own(tmp_path: Path) -> None:
    """TRIGGER-RATE: a RealSense slave at 60 fps cannot follow a 30 fps master and free-runs."""
    text = d435(0, fps=30) + d435(1, fps=60) + """
[[sync]]
name = "ms"
method = "hardware"
topology = "star"
source = { device = "r0" }
members = [{ device = "r0" }, { device = "r1" }]
"""
    cap = Capture(text, tmp_path)
    assert "TRIGGER-RATE" in rules(cap.plan)
    assert cap.triggers("r1") == [] and cap.count("r1") > 0


def test_d415_refuses_genlock_and_free_runs(tmp_path: Path) -> None:
    """RS-GENLOCK-GLOBAL-SHUTTER: a D415 in Genlock free-runs; its frames carry no trigger."""
    text = d435(0, model="realsense-d415") + """
[[triggers]]
name = "gen"
rate_hz = 30
level_v = 1.8
pulse_width_us = 150

[[sync]]
name = "g"
method = "genlock"
topology = "star"
source = { trigger = "gen" }
members = [{ device = "r0" }]
"""
    cap = Capture(text, tmp_path)
    assert "RS-GENLOCK-GLOBAL-SHUTTER" in rules(cap.plan)
    assert cap.triggers("r0") == [] and cap.count("r0") > 0


def test_hosts_without_ptp_stamp_on_unrelated_clocks(tmp_path: Path) -> None:
    """MULTI-HOST-PTP: a second host's frames are stamped on its own clock, milliseconds off the truth."""
    text = kinect(0) + kinect(1, host="h2") + """
[[hosts]]
name = "h2"
"""
    cap = Capture(text, tmp_path)
    assert "MULTI-HOST-PTP" in rules(cap.plan)
    truth = {(t.device, t.stream, t.seq): t.exposure_start_ns for t in cap.truth}
    errors: dict[str, list[int]] = defaultdict(list)
    for f in cap.frames:
        errors[f.device].append(abs(f.rig_time_ns - truth[(f.device, f.stream, f.seq)]))
    assert max(errors["k0"]) < 200_000 < min(errors["k1"])


def test_gmsl_camera_on_a_pc_is_not_found(tmp_path: Path) -> None:
    """ZED-GMSL-HOST: a ZED X on an x86 host does not enumerate: the capture cannot open it."""
    text = """
[[hosts]]
name = "pc"
capture_cards = [{ name = "q", model = "zed-link-quad" }]

[[devices]]
id = "x0"
model = "zed-x"
serial = "X0"
host = "pc"
connection = "gmsl:q:0"
streams = [{ kind = "color", width = 1920, height = 1200, fps = 30 }]
"""
    plan = build_plan(loads_rig(text, "rig.toml"))
    assert "ZED-GMSL-HOST" in rules(plan)
    with pytest.raises(DriverError, match="Jetson"), CaptureSession(
            plan, CaptureOptions(out=tmp_path / "x.mcap", seconds=1, fast=True, force=True)):
        pass


def test_auto_exposure_pushes_synchronized_kinects_apart(tmp_path: Path) -> None:
    """K4A-MANUAL-EXPOSURE: with auto exposure the colour cameras of one trigger no longer start together."""
    group = """
[[sync]]
name = "s"
method = "hardware"
topology = "star"
source = { device = "k0" }
members = [{ device = "k0" }, { device = "k1", delay_us = 160 }]
"""
    cap = Capture(kinect(0, color='exposure = "auto"') + kinect(1, color='exposure = "auto"') + group, tmp_path)
    assert "K4A-MANUAL-EXPOSURE" in rules(cap.plan)
    starts: dict[str, dict[str, int]] = defaultdict(dict)
    for t in cap.truth:
        if t.stream == "color" and t.trigger_id:
            starts[t.trigger_id][t.device] = t.exposure_start_ns
    gaps = [abs(v["k1"] - 160_000 - v["k0"]) for v in starts.values() if len(v) == 2]
    assert sorted(gaps)[len(gaps) // 2] > 100_000


def test_orbbec_frames_per_trigger_bursts(tmp_path: Path) -> None:
    """burst = 3 on an Orbbec hardware group gives three frames per trigger, one stream period apart."""
    text = bolt(0) + """
[[triggers]]
name = "gen"
rate_hz = 5
level_v = 1.8
pulse_width_us = 150

[[sync]]
name = "b"
method = "hardware"
topology = "daisy-chain"
source = { trigger = "gen" }
burst = 3
members = [{ device = "b0" }]
"""
    cap = Capture(text, tmp_path)
    assert not cap.plan.errors
    per_trigger = Counter(t.trigger_id for t in cap.truth if t.device == "b0")
    assert set(per_trigger.values()) == {3}
    assert len(cap.framesets) >= 20
