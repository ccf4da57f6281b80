"""Every planner rule: a rig that breaks it (right rule id, devices and fix) and the same rig fixed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from rigsync.core.errors import RigFileError
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.plan.rules import RULES
from rigsync.spec import load_rig, loads_rig

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))

HOST = """
[[hosts]]
name = "h"
gpu_memory_mb = 8192
usb_controllers = [{ name = "c0" }, { name = "c1" }, { name = "c2" }, { name = "c3" }, { name = "c4" }]
nics = [{ name = "eth0", timestamping = "hardware", speed_gbps = 10 }]
"""


def kinect(i: int, *, ctrl: str = "", color: str = 'exposure_us = 8000', depth: bool = True, host: str = "h",
           pose: str = "") -> str:
    streams = []
    if color:
        streams.append(f'{{ kind = "color", width = 1280, height = 720, fps = 30, {color} }}')
    if depth:
        streams.append('{ kind = "depth", width = 640, height = 576, fps = 30 }')
    return f"""
[[devices]]
id = "k{i}"
model = "azure-kinect-dk"
serial = "K{i}"
host = "{host}"
connection = "usb:{ctrl or f'c{i % 5}'}"
{pose}
streams = [{", ".join(streams)}]
"""


def realsense(i: int, *, model: str = "realsense-d435", depth_fps: int = 90, exposure: str = "exposure_us = 5000",
              color: bool = True) -> str:
    colour = ', { kind = "color", width = 848, height = 480, fps = 30 }' if color else ""
    return f"""
[[devices]]
id = "r{i}"
model = "{model}"
serial = "R{i}"
host = "h"
connection = "usb:c{i % 5}"
streams = [{{ kind = "depth", width = 848, height = 480, fps = {depth_fps}, {exposure} }}{colour}]
"""


def bolt(i: int, fps: int = 30) -> str:
    return f"""
[[devices]]
id = "b{i}"
model = "orbbec-femto-bolt"
serial = "B{i}"
host = "h"
connection = "usb:c{i % 5}"
streams = [{{ kind = "depth", width = 640, height = 576, fps = {fps} }}]
"""


def gige(i: int, *, fps: int = 30, nic: str = "eth0", host: str = "h", size: str = "1920, height = 1200") -> str:
    return f"""
[[devices]]
id = "g{i}"
model = "gige-ptp-area-scan"
serial = "G{i}"
host = "{host}"
connection = "eth:{nic}"
streams = [{{ kind = "color", width = {size}, fps = {fps}, format = "bayer_rggb8", exposure_us = 1000 }}]
"""


def zed(i: int, *, model: str = "zed-2i", ctrl: str = "c0") -> str:
    return f"""
[[devices]]
id = "z{i}"
model = "{model}"
serial = "Z{i}"
host = "h"
connection = "usb:{ctrl}"
streams = [{{ kind = "color", width = 1920, height = 1080, fps = 30 }}, {{ kind = "depth", width = 1920, height = 1080, fps = 30 }}]
"""


def group(name: str, method: str, members: list[str], *, topology: str = "", source: str = "", extra: str = "",
          member_extra: dict[str, str] | None = None) -> str:
    items = ", ".join(f'{{ device = "{m}"{(", " + member_extra[m]) if member_extra and m in member_extra else ""} }}'
                      for m in members)
    topo = f'topology = "{topology}"\n' if topology else ""
    src = f"source = {{ {source} }}\n" if source else ""
    return f'\n[[sync]]\nname = "{name}"\nmethod = "{method}"\n{topo}{src}{extra}members = [{items}]\n'


def trigger(rate: float, *, level: float = 5.0, pulse: float = 100.0, drive: float = 20.0,
            pattern: str = "periodic") -> str:
    return (f'\n[[triggers]]\nname = "gen"\nrate_hz = {rate}\nlevel_v = {level}\npulse_width_us = {pulse}\n'
            f'drive_ma = {drive}\npattern = "{pattern}"\n')


def webcam(i: int) -> str:
    return f"""
[[devices]]
id = "w{i}"
model = "uvc-webcam"
serial = "W{i}"
host = "h"
connection = "usb:c{i % 5}"
streams = [{{ kind = "color", width = 640, height = 480, fps = 30, format = "mjpeg" }}]
"""


def star(members: list[str], **kw: object) -> str:
    return group("g", "hardware", members, topology="star", source=f'device = "{members[0]}"', **kw)  # type: ignore[arg-type]


def chain(members: list[str], **kw: object) -> str:
    return group("g", "hardware", members, topology="daisy-chain", source=f'device = "{members[0]}"', **kw)  # type: ignore[arg-type]


def genlock(members: list[str], **kw: object) -> str:
    return group("g", "genlock", members, topology="star", source='trigger = "gen"', **kw)  # type: ignore[arg-type]


def two_hosts(ptp: bool, nic: str = 'kind = "ethernet", timestamping = "hardware"') -> str:
    hosts = HOST + f"""
[[hosts]]
name = "h2"
nics = [{{ name = "eth0", {nic}, speed_gbps = 10 }}]
"""
    body = kinect(0) + kinect(1, host="h2", ctrl="c0")
    if ptp:
        body += gige(0) + gige(1, host="h2") + group("p", "ptp", ["g0", "g1"]) + '[sync.ptp]\ngrandmaster = "h"\n'
    return hosts + body


@dataclass(frozen=True)
class Case:
    rule: str
    bad: str
    good: str
    devices: tuple[str, ...]
    fix: str


def k_chain(n: int, member_extra: dict[str, str] | None = None, **kw: object) -> str:
    extra = {f"k{i}": f"delay_us = {160 * i}" for i in range(1, n)} | (member_extra or {})
    return HOST + "".join(kinect(i) for i in range(n)) + chain([f"k{i}" for i in range(n)], member_extra=extra,
                                                              **kw)  # type: ignore[arg-type]


CASES = [
    Case("SYNC-METHOD-UNSUPPORTED",
         HOST + zed(0) + zed(1, ctrl="c1") + group("g", "hardware", ["z0", "z1"], topology="star", source='device = "z0"'),
         HOST + zed(0) + zed(1, ctrl="c1") + group("g", "software", ["z0", "z1"]), ("z0",), "software group"),
    Case("SYNC-METHOD-UNSUPPORTED", HOST + webcam(0) + realsense(1, color=False) + group(
        "g", "genlock", ["w0", "r1"], topology="star", source='device = "w0"'),
         HOST + realsense(0, model="realsense-d415", depth_fps=30, color=False) + realsense(1, color=False) + group(
        "g", "genlock", ["r0", "r1"], topology="star", source='device = "r0"'), ("w0",), "sync output the master"),
    Case("TRIGGER-RANDOM", HOST + trigger(30, pattern="random") + kinect(0) + kinect(1) + group(
        "g", "hardware", ["k0", "k1"], topology="daisy-chain", source='trigger = "gen"',
        member_extra={"k1": "delay_us = 160"}),
         HOST + trigger(30) + kinect(0) + kinect(1) + group(
        "g", "hardware", ["k0", "k1"], topology="daisy-chain", source='trigger = "gen"',
        member_extra={"k1": "delay_us = 160"}), ("k0", "k1"), "steady 5, 15, 30 Hz"),
    Case("TRIGGER-RANDOM", HOST + trigger(30, level=1.8, pulse=150, pattern="random") + realsense(
        0, depth_fps=30, color=False) + group("g", "hardware", ["r0"], topology="star", source='trigger = "gen"'),
         HOST + trigger(30, level=1.8, pulse=150, pattern="random") + realsense(0, color=False) + genlock(["r0"]),
         ("r0",), "Genlock on a D435"),
    Case("SIGNAL-LEVEL", HOST + trigger(30, level=5.0, pulse=150) + realsense(0) + genlock(["r0"]),
         HOST + trigger(30, level=1.8, pulse=150) + realsense(0) + genlock(["r0"]), ("r0",), "level shifter down"),
    Case("SIGNAL-LEVEL", HOST + trigger(30, level=1.8) + kinect(0) + kinect(1) + group(
        "g", "hardware", ["k0", "k1"], topology="daisy-chain", source='trigger = "gen"', member_extra={"k1": "delay_us = 160"}),
         HOST + trigger(30, level=5.0) + kinect(0) + kinect(1) + group(
        "g", "hardware", ["k0", "k1"], topology="daisy-chain", source='trigger = "gen"', member_extra={"k1": "delay_us = 160"}),
         ("k0",), "level shifter up"),
    Case("PULSE-WIDTH", HOST + trigger(30, level=1.8, pulse=50) + realsense(0) + genlock(["r0"]),
         HOST + trigger(30, level=1.8, pulse=150) + realsense(0) + genlock(["r0"]), ("r0",), "above 100 us"),
    Case("TRIGGER-DRIVE", HOST + trigger(30, drive=4) + kinect(0) + group(
        "g", "hardware", ["k0"], topology="daisy-chain", source='trigger = "gen"'),
         HOST + trigger(30, drive=20) + kinect(0) + group(
        "g", "hardware", ["k0"], topology="daisy-chain", source='trigger = "gen"'), ("k0",), "stronger driver"),
    Case("TRIGGER-RATE", HOST + trigger(25) + kinect(0) + group(
        "g", "hardware", ["k0"], topology="daisy-chain", source='trigger = "gen"'),
         HOST + trigger(30) + kinect(0) + group(
        "g", "hardware", ["k0"], topology="daisy-chain", source='trigger = "gen"'), ("k0",), "5, 15, 30 Hz"),
    Case("TRIGGER-RATE", HOST + realsense(0, depth_fps=30) + realsense(1, depth_fps=60) + star(["r0", "r1"]),
         HOST + realsense(0, depth_fps=30) + realsense(1, depth_fps=30) + star(["r0", "r1"]), ("r1",), "set depth"),
    Case("SYNC-OUT-DISABLED", k_chain(3, member_extra={"k1": "delay_us = 160, trigger_out = false", "k2": "delay_us = 320"}),
         k_chain(3), ("k1", "k2"), "trigger_out = true"),
    Case("STAGGER-EXPOSURE", HOST + trigger(30, level=1.8, pulse=150) + realsense(0, color=False) + realsense(1, color=False)
         + genlock(["r0", "r1"], extra="stagger_us = 1100\n"),
         HOST + trigger(30, level=1.8, pulse=150) + realsense(0, exposure="exposure_us = 800", color=False)
         + realsense(1, exposure="exposure_us = 800", color=False) + genlock(["r0", "r1"], extra="stagger_us = 1100\n"),
         ("r0",), "at most 1100 us"),
    Case("DELAY-PAST-PERIOD",
         HOST + trigger(30, level=1.8, pulse=150) + realsense(0, exposure="exposure_us = 800", color=False)
         + realsense(1, exposure="exposure_us = 800", color=False) + genlock(["r0", "r1"], extra="stagger_us = 33000\n"),
         HOST + trigger(30, level=1.8, pulse=150) + realsense(0, exposure="exposure_us = 800", color=False)
         + realsense(1, exposure="exposure_us = 800", color=False) + genlock(["r0", "r1"], extra="stagger_us = 1100\n"),
         ("r1",), "stagger_us at most 32,533"),
    Case("BURST-UNSUPPORTED", k_chain(2, extra="burst = 2\n"), k_chain(2), ("k0", "k1"), "burst = 1"),
    Case("TOF-INTERFERENCE", HOST + kinect(0) + kinect(1) + star(["k0", "k1"]),
         HOST + kinect(0) + kinect(1) + star(["k0", "k1"], member_extra={"k1": "delay_us = 160"}), ("k0", "k1"),
         "160 us"),
    Case("TOF-FREE-RUNNING", HOST + kinect(0) + kinect(1),
         HOST + kinect(0) + kinect(1) + star(["k0", "k1"], member_extra={"k1": "delay_us = 160"}), ("k0", "k1"),
         "160 us apart"),
    Case("MULTI-HOST-PTP", two_hosts(False), two_hosts(True), ("k1",), "ptp sync group"),
    Case("MULTI-HOST-PTP", two_hosts(False), two_hosts(False) + '[[sync]]\nname = "clocks"\nmethod = "ptp"\n'
         'members = []\n[sync.ptp]\ngrandmaster = "h"\nhosts = ["h", "h2"]\n', ("k1",), "[sync.ptp] hosts"),
    Case("PTP-INTERFACE", two_hosts(True, 'kind = "wifi", timestamping = "software"'), two_hosts(True), ("k1", "g1"),
         "wired Ethernet"),
    Case("PTP-HW-TIMESTAMPING", two_hosts(True, 'kind = "ethernet", timestamping = "software"'), two_hosts(True),
         ("k1", "g1"), "hardware"),
    Case("USB-BANDWIDTH", HOST + zed(0) + zed(1) + zed(2) + group("s", "software", ["z0", "z1", "z2"]),
         HOST + zed(0) + zed(1, ctrl="c1") + zed(2, ctrl="c2") + group("s", "software", ["z0", "z1", "z2"]),
         ("z0", "z1", "z2"), "more controllers"),
    Case("NIC-BANDWIDTH", HOST.replace("speed_gbps = 10", "speed_gbps = 1") + gige(0, fps=60) + gige(1, fps=60),
         HOST + gige(0, fps=60) + gige(1, fps=60), ("g0", "g1"), "faster NIC"),
    Case("GMSL-CARD-CAPACITY", HOST.replace('name = "h"', 'name = "h"\nplatform = "jetson"\nzed_link_driver = true\n'
                                            'capture_cards = [{ name = "q", model = "zed-link-quad" }]') + """
[[devices]]
id = "x0"
model = "zed-x"
serial = "X0"
host = "h"
connection = "gmsl:q:0"
streams = [{ kind = "color", width = 1920, height = 1200, fps = 30 }]
[[devices]]
id = "x1"
model = "zed-x"
serial = "X1"
host = "h"
connection = "gmsl:q:0"
streams = [{ kind = "color", width = 1920, height = 1200, fps = 30 }]
""", "", ("x0", "x1"), "its own port"),
    Case("GPU-MEMORY", HOST.replace("gpu_memory_mb = 8192", "gpu_memory_mb = 1024") + zed(0) + zed(1, ctrl="c1"),
         HOST + zed(0) + zed(1, ctrl="c1"), ("z0", "z1"), "larger GPU"),
    Case("USBFS-MEMORY", HOST + bolt(0) + bolt(1), HOST + bolt(0), ("b0", "b1"), "usbcore.usbfs_memory_mb=32"),
    Case("ZED-USB-NO-TRIGGER",
         HOST + zed(0) + zed(1, ctrl="c1") + group("g", "hardware", ["z0", "z1"], topology="star", source='device = "z0"'),
         HOST + zed(0) + zed(1, ctrl="c1") + group("g", "software", ["z0", "z1"]), ("z0", "z1"), "timestamp"),
    Case("ZED-GMSL-HOST", HOST.replace('name = "h"', 'name = "h"\ncapture_cards = [{ name = "q", model = '
                                       '"zed-link-mono" }]') + """
[[devices]]
id = "x0"
model = "zed-x"
serial = "X0"
host = "h"
connection = "gmsl:q:0"
streams = [{ kind = "color", width = 1920, height = 1200, fps = 30 }]
""", "", ("x0",), "Jetson"),
    Case("ZED-OUT-OF-PRODUCTION", HOST + zed(0, model="zed"), HOST + zed(0), ("z0",), "ZED 2i or ZED X"),
    Case("K4A-DAISY-MAX", k_chain(10), k_chain(9), ("k1",), "split the chain"),
    Case("K4A-STAR-MAX", HOST + "".join(kinect(i) for i in range(4)) + star(
        ["k0", "k1", "k2", "k3"], member_extra={"k1": "delay_us = 160", "k2": "delay_us = 320", "k3": "delay_us = 480"}),
         HOST + "".join(kinect(i) for i in range(3)) + star(
        ["k0", "k1", "k2"], member_extra={"k1": "delay_us = 160", "k2": "delay_us = 320"}), ("k1", "k2", "k3"),
         "daisy chain"),
    Case("K4A-EXT-TRIGGER-MASTER", HOST + trigger(30) + kinect(0) + kinect(1) + group(
        "g", "hardware", ["k0", "k1"], topology="star", source='trigger = "gen"',
        member_extra={"k0": 'role = "master"', "k1": "delay_us = 160"}),
         HOST + trigger(30) + kinect(0) + kinect(1) + group(
        "g", "hardware", ["k0", "k1"], topology="star", source='trigger = "gen"',
        member_extra={"k1": "delay_us = 160"}), ("k0",), "leave k0's role to rigsync"),
    Case("K4A-MASTER-COLOR", HOST + kinect(0, color="") + kinect(1) + star(["k0", "k1"], member_extra={"k1": "delay_us = 160"}),
         HOST + kinect(0) + kinect(1) + star(["k0", "k1"], member_extra={"k1": "delay_us = 160"}), ("k0",),
         "colour stream"),
    Case("K4A-MANUAL-EXPOSURE", HOST + kinect(0, color='exposure = "auto"') + kinect(1) + star(
        ["k0", "k1"], member_extra={"k1": "delay_us = 160"}), k_chain(2), ("k0",), "exposure_us"),
    Case("K4A-SUB-DELAY", HOST + kinect(0) + kinect(1) + star(["k0", "k1"], member_extra={"k1": "delay_us = 40000"}),
         HOST + kinect(0) + kinect(1) + star(["k0", "k1"], member_extra={"k1": "delay_us = 160"}), ("k1",),
         "within one frame period"),
    Case("K4A-CABLE-LENGTH", HOST + kinect(0) + kinect(1) + star(
        ["k0", "k1"], member_extra={"k1": "delay_us = 160, cable_m = 12"}),
         HOST + kinect(0) + kinect(1) + star(["k0", "k1"], member_extra={"k1": "delay_us = 160, cable_m = 5"}),
         ("k1",), "under 10 m"),
    Case("K4A-TIMESTAMPS", k_chain(2), HOST + kinect(0), ("k0", "k1"), "nothing to do"),
    Case("K4A-CALIBRATE", k_chain(2), HOST + kinect(0), ("k0", "k1"), "calibrate the set"),
    Case("ORBBEC-ONE-PRIMARY", HOST + bolt(0) + bolt(1) + chain(["b0", "b1"], member_extra={
        "b1": 'role = "PRIMARY", depth_delay_us = 160'}),
         HOST + bolt(0) + bolt(1) + chain(["b0", "b1"], member_extra={"b1": "depth_delay_us = 160"}), ("b0", "b1"),
         "keep one PRIMARY"),
    Case("ORBBEC-TRIGGER-OUT", HOST + bolt(0) + bolt(1) + chain(["b0", "b1"], member_extra={
        "b0": "trigger_out = false", "b1": "depth_delay_us = 160"}),
         HOST + bolt(0) + bolt(1) + chain(["b0", "b1"], member_extra={"b1": "depth_delay_us = 160"}), ("b0", "b1"),
         "trigger_out = true"),
    Case("ORBBEC-FRAMES-PER-TRIGGER", HOST + trigger(5) + bolt(0, fps=15) + group(
        "g", "hardware", ["b0"], topology="daisy-chain", source='trigger = "gen"', extra="burst = 4\n"),
         HOST + trigger(5) + bolt(0, fps=15) + group(
        "g", "hardware", ["b0"], topology="daisy-chain", source='trigger = "gen"', extra="burst = 3\n"), ("b0",),
         "lower frames per trigger"),
    Case("ORBBEC-CLOCK-SYNC", HOST + bolt(0) + bolt(1) + chain(["b0", "b1"], member_extra={"b1": "depth_delay_us = 160"}),
         HOST + bolt(0), ("b0", "b1"), "enable_multi_device_sync(60000)"),
    Case("GIGE-PTP-SETTINGS", HOST + gige(0) + gige(1) + group("p", "ptp", ["g0", "g1"], member_extra={
        "g1": 'role = "TriggerSource=Line0"'}), HOST + gige(0) + gige(1) + group("p", "ptp", ["g0", "g1"]), ("g1",),
         "AcquisitionMode MultiFrame"),
    Case("GIGE-SAME-FPS", HOST + gige(0, fps=30) + gige(1, fps=60) + group("p", "ptp", ["g0", "g1"]),
         HOST + gige(0) + gige(1) + group("p", "ptp", ["g0", "g1"]), ("g0", "g1"), "same frame rate"),
    Case("GIGE-PTP-STEP-MODE", HOST.replace('timestamping = "hardware"', 'timestamping = "software"') + gige(0) + group(
        "p", "ptp", ["g0"]) + '[sync.ptp]\ngrandmaster = "h"\nstep_mode = "one-step"\n',
         HOST.replace('timestamping = "hardware"', 'timestamping = "software"') + gige(0) + group(
        "p", "ptp", ["g0"]) + '[sync.ptp]\ngrandmaster = "h"\nstep_mode = "two-step"\n', ("g0",), "two-step"),
    Case("GIGE-SETTINGS-STOPPED", HOST + gige(0) + group("p", "ptp", ["g0"]), HOST + gige(0), ("g0",), "nothing to do"),
    Case("RS-GENLOCK-GLOBAL-SHUTTER", HOST + trigger(30, level=1.8, pulse=150) + realsense(
        0, model="realsense-d415", exposure="exposure_us = 5000", color=False) + genlock(["r0"]),
         HOST + trigger(30, level=1.8, pulse=150) + realsense(0, color=False) + genlock(["r0"]), ("r0",), "D435"),
    Case("RS-GENLOCK-RATE", HOST + trigger(60, level=1.8, pulse=150) + realsense(0, color=False) + genlock(["r0"]),
         HOST + trigger(45, level=1.8, pulse=150) + realsense(0, color=False) + genlock(["r0"]), ("r0",),
         "45 Hz or less"),
    Case("RS-GENLOCK-EXPOSURE", HOST + trigger(30, level=1.8, pulse=150) + realsense(
        0, exposure="exposure_us = 15000", color=False) + genlock(["r0"]),
         HOST + trigger(30, level=1.8, pulse=150) + realsense(0, color=False) + genlock(["r0"]), ("r0",),
         "at most 11111 us"),
    Case("RS-COLOR-FREE-RUN", HOST + trigger(30, level=1.8, pulse=150) + realsense(0) + genlock(["r0"]),
         HOST + trigger(30, level=1.8, pulse=150) + realsense(0, color=False) + genlock(["r0"]), ("r0",),
         "free-running"),
    Case("RS-PROJECTOR", HOST + trigger(30, level=1.8, pulse=150) + realsense(0, color=False) + genlock(["r0"]),
         HOST + realsense(0), ("r0",), "emitter"),
    Case("RS-MODES-BEFORE-STREAMING", HOST + trigger(30, level=1.8, pulse=150) + realsense(0, color=False)
         + genlock(["r0"]), HOST + realsense(0), ("r0",), "before it starts"),
    Case("RS-AE-SLOW-TRIGGER", HOST + trigger(2, level=1.8, pulse=150) + realsense(
        0, exposure='exposure = "auto"', color=False) + genlock(["r0"]),
         HOST + trigger(2, level=1.8, pulse=150) + realsense(0, color=False) + genlock(["r0"]), ("r0",),
         "manual exposure"),
    Case("RS-TIMELAPSE-TIMEOUT", HOST + trigger(0.1, level=1.8, pulse=150) + realsense(0, color=False) + genlock(["r0"]),
         HOST + trigger(1, level=1.8, pulse=150) + realsense(0, color=False) + genlock(["r0"]), ("r0",),
         "frame timeout above 10 s"),
]


def plan_of(text: str) -> Plan:
    return build_plan(loads_rig(text, "rule.toml"))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.rule)
def test_rule_fires_on_a_rig_that_breaks_it(case: Case) -> None:
    """The rule reports the devices concerned, its severity, a source and a fix."""
    plan = plan_of(case.bad)
    found = [d for d in plan.diagnostics if d.rule == case.rule]
    assert found, f"{case.rule} did not fire; got {[d.rule for d in plan.diagnostics]}"
    d = next((d for d in found if set(case.devices) <= set(d.devices)), found[0])
    assert set(case.devices) <= set(d.devices), d
    assert case.fix in d.fix, d
    assert d.source and d.severity is RULES[case.rule].severity


@pytest.mark.parametrize("case", [c for c in CASES if c.good], ids=lambda c: c.rule)
def test_rule_is_silent_on_the_fixed_rig(case: Case) -> None:
    """With the fix applied the rule no longer fires."""
    assert case.rule not in {d.rule for d in plan_of(case.good).diagnostics}


def test_every_rule_has_a_case() -> None:
    """No rule goes untested: every registered rule id appears in the cases."""
    assert set(RULES) == {c.rule for c in CASES}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_plans_without_errors(path: Path) -> None:
    """The example rigs are wired correctly."""
    plan = build_plan(load_rig(path))
    assert not plan.errors, [str(d) for d in plan.errors]


@pytest.mark.parametrize(("text", "rule"), [
    (HOST + kinect(0) + kinect(1).replace('serial = "K1"', 'serial = "K0"'), "SERIAL-UNIQUE"),
    (HOST + kinect(0) + kinect(1).replace('id = "k1"', 'id = "k0"'), "ID-UNIQUE"),
    (HOST + kinect(0, host="nowhere"), "HOST-DECLARED"),
])
def test_load_time_rules(text: str, rule: str) -> None:
    """Unique ids and serials and declared hosts are checked as the file loads, with their rule ids."""
    with pytest.raises(RigFileError) as info:
        loads_rig(text, "rule.toml")
    assert info.value.rule == rule


def test_rules_document_is_current() -> None:
    """docs/rules.md lists exactly the registered rules (regenerate it when a rule changes)."""
    from rigsync.plan.rules import rules_markdown

    doc = Path(__file__).parents[2] / "docs" / "rules.md"
    assert doc.read_text() == rules_markdown()


def test_findings_of_a_rule_in_one_group_are_one_diagnostic() -> None:
    """The studio's two free-running RealSense colour sensors are one RS-COLOR-FREE-RUN diagnostic for group
    realsense, naming both devices and quoting both findings; a rule's findings in different groups stay apart."""
    plan = build_plan(load_rig(EXAMPLES[[p.stem for p in EXAMPLES].index("studio")]))
    found = [d for d in plan.diagnostics if d.rule == "RS-COLOR-FREE-RUN"]
    assert len(found) == 1 and found[0].devices == ("rs-left", "rs-right")
    assert found[0].message.startswith("2 findings in group realsense: rs-left/color is not Genlocked")
    assert "; rs-right/color is not Genlocked" in found[0].message
    two = plan_of(HOST + kinect(0) + kinect(1) + kinect(2) + kinect(3) + group(
        "a", "hardware", ["k0", "k1"], topology="star", source='device = "k0"', member_extra={"k1": "delay_us = 160"})
        + group("b", "hardware", ["k2", "k3"], topology="star", source='device = "k2"',
                member_extra={"k3": "delay_us = 160"}))
    assert [d.devices for d in two.diagnostics if d.rule == "K4A-TIMESTAMPS"] == [("k0", "k1"), ("k2", "k3")]
