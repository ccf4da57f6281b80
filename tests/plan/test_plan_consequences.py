"""The plan drives the capture: a rig breaking a rule is reported, and the simulator then behaves as the
hardware would (forced captures, checked against the simulator's truth)."""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from itertools import pairwise
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
    last = max(per_trigger, key=lambda tid: int(tid.split("/")[1]))
    assert per_trigger.pop(last) <= 3  # the capture may stop in the middle of the last burst
    assert set(per_trigger.values()) == {3}
    assert len(cap.framesets) >= 20


def _starts(cap: Capture, stream: str) -> dict[str, dict[int, int]]:
    """Device -> trigger number -> true start of exposure of its frame on that trigger."""
    out: dict[str, dict[int, int]] = defaultdict(dict)
    for t in cap.truth:
        if t.stream == stream and t.trigger_id:
            out[t.device][int(t.trigger_id.split("/")[1])] = t.exposure_start_ns
    return out


GENERATOR = """
[[triggers]]
name = "gen"
rate_hz = 30
{extra}
"""


def test_external_trigger_star_exposes_every_kinect_on_the_generators_pulses(tmp_path: Path) -> None:
    """The trigger goes into k0 (the star's master device, crystal 40 ppm fast), whose sync out re-drives k1 and k2:
    all three expose on every generator pulse, k0 one generator period apart (not its own crystal's), k1 and k2
    160 and 320 us after k0 plus one more hop, within the 100 ns trigger jitter."""
    text = GENERATOR.format(extra="") + kinect(0).replace('connection = "usb:c0"', 'connection = "usb:c0"\nsim = { '
                                                          'drift_ppm = 40 }') + kinect(1) + kinect(2) + """
[[sync]]
name = "s"
method = "hardware"
topology = "star"
source = { trigger = "gen" }
members = [{ device = "k0" }, { device = "k1", delay_us = 160 }, { device = "k2", delay_us = 320 }]
"""
    cap = Capture(text, tmp_path)
    assert not cap.plan.errors
    starts = _starts(cap, "color")
    period = cap.plan.group("s").trigger_period_ns
    assert period == 33_333_333
    ks = sorted(starts["k0"])
    assert len(ks) >= 50
    for sub in ("k1", "k2"):  # the capture may end between the master device's frame and theirs
        assert set(ks[:-1]) <= set(starts[sub]) <= set(ks)
    steps = [(starts["k0"][b] - starts["k0"][a]) / (b - a) - period for a, b in pairwise(ks)]
    assert max(abs(s) for s in steps) < 1_000  # 40 ppm of its own would be 1,333 ns per frame
    slope = (starts["k0"][ks[-1]] - starts["k0"][ks[0]]) / (ks[-1] - ks[0]) - period
    assert abs(slope) < 30
    hop = 50 + 15  # the re-drive through k0 and one more cable (simulator constants HOP_NS, CABLE_NS)
    for sub, delay in (("k1", 160_000), ("k2", 320_000)):
        gaps = [starts[sub][k] - starts["k0"][k] - delay - hop for k in ks if k in starts[sub]]
        assert max(abs(g) for g in gaps) < 1_000, (sub, max(gaps), min(gaps))
        assert abs(statistics.mean(gaps)) < 3 * statistics.stdev(gaps) / math.sqrt(len(gaps))  # the extra hop
    assert all(t.trigger_id for t in cap.truth if t.device in ("k1", "k2"))


@pytest.mark.parametrize(("master", "model", "streams"), [
    ("d415", "realsense-d415", '{ kind = "depth", width = 848, height = 480, fps = 30, exposure_us = 5000 }'),
    ("bolt", "orbbec-femto-bolt", '{ kind = "depth", width = 640, height = 576, fps = 30 }'),
])
def test_genlock_cameras_expose_on_another_masters_pulses(tmp_path: Path, master: str, model: str,
                                                          streams: str) -> None:
    """Two D435 Genlocked to a D415 or a Femto Bolt master expose once per master frame, on its trigger number,
    one cable (15 ns) after the master's own exposure within the trigger jitter; their own crystals play no part."""
    text = f"""
[[devices]]
id = "m"
model = "{model}"
serial = "M"
host = "h"
connection = "usb:c3"
sim = {{ drift_ppm = -40 }}
streams = [{streams}]
""" + d435(1).replace('serial = "R1"', 'serial = "R1"\nsim = { drift_ppm = 60 }') + d435(2) + """
[[sync]]
name = "g"
method = "genlock"
topology = "star"
source = { device = "m" }
members = [{ device = "m" }, { device = "r1" }, { device = "r2" }]
"""
    cap = Capture(text, tmp_path)
    assert not cap.plan.errors, [str(d) for d in cap.plan.errors]
    starts = _starts(cap, "depth")
    ks = sorted(starts["m"])
    assert len(ks) >= 50
    for r in ("r1", "r2"):
        assert set(ks[:-1]) <= set(starts[r]) <= set(range(ks[-1] + 2))  # the capture may end between them
        gaps = [starts[r][k] - starts["m"][k] - 15 for k in ks if k in starts[r]]
        assert max(abs(g) for g in gaps) < 1_000, (r, min(gaps), max(gaps))
    assert all(t.trigger_id for t in cap.truth if t.device in ("r1", "r2"))


def test_random_triggers_leave_rate_locked_kinects_without_most_frames(tmp_path: Path) -> None:
    """TRIGGER-RANDOM: Kinect subordinates follow only a steady 5/15/30 Hz trigger; from random pulses (30 Hz on
    average) they take only the few that land on their frame grid, under a fifth of what a steady 30 Hz gives."""
    group = """
[[sync]]
name = "s"
method = "hardware"
topology = "daisy-chain"
source = { trigger = "gen" }
members = [{ device = "k0" }, { device = "k1", delay_us = 160 }]
"""
    bad = Capture(GENERATOR.format(extra='pattern = "random"') + kinect(0) + kinect(1) + group, tmp_path)
    found = [d for d in bad.plan.errors if d.rule == "TRIGGER-RANDOM"]
    assert len(found) == 1 and found[0].devices == ("k0", "k1") and "precisely 30 FPS" in found[0].message
    good = Capture(GENERATOR.format(extra="") + kinect(0) + kinect(1) + group, tmp_path)
    assert "TRIGGER-RANDOM" not in rules(good.plan)
    for k in ("k0", "k1"):
        assert good.count(k, "color") >= 50
        assert 0 < bad.count(k, "color") < 0.2 * good.count(k, "color")


def test_random_triggers_into_a_realsense_slave_fire_it_on_its_own(tmp_path: Path) -> None:
    """TRIGGER-RANDOM: a RealSense in slave mode 2 "will fire on its own" on random pulses: its frames carry no
    trigger and come at its own 30 fps; Genlock on the same pulses follows them."""
    text = d435(0, fps=30) + GENERATOR.format(extra='level_v = 1.8\npulse_width_us = 150\npattern = "random"') + """
[[sync]]
name = "s"
method = "{method}"
topology = "star"
source = {{ trigger = "gen" }}
members = [{{ device = "r0" }}]
"""
    bad = Capture(text.replace("{method}", "hardware").replace("{{", "{").replace("}}", "}"), tmp_path)
    assert "TRIGGER-RANDOM" in rules(bad.plan)
    assert bad.triggers("r0") == [] and bad.count("r0") >= 50
    genlocked = Capture(text.replace("{method}", "genlock").replace("{{", "{").replace("}}", "}")
                        .replace("fps = 30", "fps = 90"), tmp_path)
    assert "TRIGGER-RANDOM" not in rules(genlocked.plan)
    assert len(genlocked.triggers("r0")) >= 20  # pulses inside the 2-frame blind window are ignored


def test_a_d415_slave_is_a_realsense_slave_too(tmp_path: Path) -> None:
    """Slave mode 2 on a rolling-shutter D415 follows a 30 fps D415 master readout-aligned like a D435 (exposure
    ends on the master's pulse: "Readout (not capture) starts with Trigger"), and fires on its own from random
    pulses."""
    rig = d435(0, model="realsense-d415", fps=30) + d435(1, model="realsense-d415", fps=30) + """
[[sync]]
name = "ms"
method = "hardware"
topology = "star"
source = { device = "r0" }
members = [{ device = "r0" }, { device = "r1" }]
"""
    cap = Capture(rig, tmp_path)
    assert not cap.plan.errors
    ends: dict[int, int] = {int(t.trigger_id.split("/")[1]): t.exposure_end_ns for t in cap.truth
                            if t.device == "r1" and t.trigger_id}
    starts = _starts(cap, "depth")["r0"]
    common = sorted(set(starts) & set(ends))
    assert len(common) >= 50
    assert max(abs(ends[k] - starts[k] - 15) for k in common) < 1_000  # r1's exposure ends as r0's starts
    random = d435(1, model="realsense-d415", fps=30) + GENERATOR.format(
        extra='level_v = 1.8\npulse_width_us = 150\npattern = "random"') + """
[[sync]]
name = "s"
method = "hardware"
topology = "star"
source = { trigger = "gen" }
members = [{ device = "r1" }]
"""
    free = Capture(random, tmp_path)
    assert "TRIGGER-RANDOM" in rules(free.plan)
    assert free.triggers("r1") == [] and free.count("r1") >= 50
