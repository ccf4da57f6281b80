"""Wiring the plan prints for rigs the seeds allow: an external trigger into a Kinect star's master device (which
re-drives the subordinates through the splitter), and Genlock groups mastered by a camera that is not a
global-shutter RealSense (a D415, a Femto Bolt); terminal and JSON, and the diagram."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigsync.cli.main import main
from rigsync.plan import build_plan
from rigsync.plan.diagram import to_dot
from rigsync.plan.model import Plan, Role
from rigsync.spec import loads_rig

HOST = """
[[hosts]]
name = "h"
usb_controllers = [{ name = "c0" }, { name = "c1" }, { name = "c2" }, { name = "c3" }]
"""

GEN = """
[[triggers]]
name = "gen"
rate_hz = 30
"""


def kinect(i: int) -> str:
    return f"""
[[devices]]
id = "k{i}"
model = "azure-kinect-dk"
serial = "K{i}"
host = "h"
connection = "usb:c{i % 4}"
streams = [{{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 }},
           {{ kind = "depth", width = 640, height = 576, fps = 30 }}]
"""


def device(dev_id: str, model: str, streams: str, ctrl: int) -> str:
    return f"""
[[devices]]
id = "{dev_id}"
model = "{model}"
serial = "{dev_id.upper()}"
host = "h"
connection = "usb:c{ctrl}"
streams = [{streams}]
"""


def kinect_group(n: int, topology: str, extra: dict[int, str] | None = None) -> str:
    extra = extra or {}
    members = ", ".join(f'{{ device = "k{i}", delay_us = {160 * i}{(", " + extra[i]) if i in extra else ""} }}'
                        for i in range(n))
    return (f'\n[[sync]]\nname = "g"\nmethod = "hardware"\ntopology = "{topology}"\nsource = {{ trigger = "gen" }}\n'
            f"members = [{members}]\n")


D435 = '{ kind = "depth", width = 848, height = 480, fps = 90, exposure_us = 5000 }'
MASTERS = {
    "d415": ("realsense-d415", '{ kind = "depth", width = 848, height = 480, fps = 30, exposure_us = 5000 }',
             "master (1)", "sync-out", 1.8),
    "bolt": ("orbbec-femto-bolt", '{ kind = "depth", width = 640, height = 576, fps = 30 }', "master (PRIMARY)",
             "sync-out", 1.8),
}


def genlock_rig(master: str) -> str:
    model, streams, _, _, _ = MASTERS[master]
    return HOST + device("m", model, streams, 0) + device("r1", "realsense-d435", D435, 1) + device(
        "r2", "realsense-d435", D435, 2) + """
[[sync]]
name = "gl"
method = "genlock"
topology = "star"
source = { device = "m" }
members = [{ device = "m" }, { device = "r1" }, { device = "r2" }]
"""


def plan_of(text: str) -> Plan:
    return build_plan(loads_rig(text, "wiring.toml"))


def cli_plan(text: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, dict]:  # type: ignore[type-arg]
    """Exit status, terminal text and JSON of ``rigsync plan`` on a rig."""
    path = tmp_path / "rig.toml"
    path.write_text(text)
    status = main(["plan", str(path)])
    terminal = capsys.readouterr().out
    assert main(["plan", str(path), "--json"]) == status
    return status, terminal, json.loads(capsys.readouterr().out)


def test_external_trigger_goes_into_the_kinect_stars_master_device(tmp_path: Path,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A trigger-driven Kinect star plans clean: the trigger into k0's sync in, k0's sync out through the splitter
    into k1 and k2 (hop 2); k0 is a subordinate that drives its sync out; terminal and JSON say so."""
    status, terminal, doc = cli_plan(HOST + GEN + "".join(kinect(i) for i in range(3)) + kinect_group(3, "star"),
                                     tmp_path, capsys)
    assert status == 0 and doc["summary"]["errors"] == 0
    devices = {d["device_id"]: d for d in doc["devices"]}
    hub = devices["k0"]
    assert (hub["role"], hub["vendor_role"], hub["trigger_out"]) == ("subordinate", "subordinate", True)
    assert hub["trigger"]["source"] == "trigger:gen" and hub["trigger"]["hop"] == 1
    assert not hub["trigger"]["splitter"] and hub["trigger"]["target_port"] == "k0 sync-in"
    for sub in ("k1", "k2"):
        link = devices[sub]["trigger"]
        assert (link["source"], link["hop"], link["splitter"]) == ("k0", 2, True)
        assert (link["source_port"], link["target_port"]) == ("k0 sync-out", f"{sub} sync-in")
        assert devices[sub]["trigger_out"] is False
    assert doc["start_steps"][0]["target"] == "k0" and "master device" in doc["start_steps"][0]["why"]
    rows = {line.split("│")[1].strip(): line for line in terminal.splitlines() if line.count("│") > 5}
    assert "gen output -> sync-in" in rows["k0"] and "splitter" not in rows["k0"]
    assert "k0 sync-out -> sync-in" in rows["k1"] and "via splitter" in rows["k1"]
    assert "k0 sync-out -> sync-in" in rows["k2"] and "via splitter" in rows["k2"]


def test_external_trigger_star_draws_the_trigger_into_the_master_and_its_splitter() -> None:
    """The diagram: the generator's edge ends at k0, k0 feeds a 1 -> 2 splitter, the splitter k1 and k2."""
    dot = to_dot(plan_of(HOST + GEN + "".join(kinect(i) for i in range(3)) + kinect_group(3, "star")))
    assert '"trigger:gen" -> "dev:k0"' in dot
    assert '"dev:k0" -> "splitter:g:k0"' in dot and "1 -> 2" in dot
    assert '"splitter:g:k0" -> "dev:k1"' in dot and '"splitter:g:k0" -> "dev:k2"' in dot
    assert '"trigger:gen" -> "dev:k1"' not in dot


@pytest.mark.parametrize(("topology", "n", "limit"), [("star", 3, 2), ("daisy-chain", 9, 8)])
def test_the_master_device_an_external_trigger_feeds_is_not_counted_as_a_subordinate(
        topology: str, n: int, limit: int) -> None:
    """With an external trigger, a star of a master device and 2 subordinates and a chain of 9 Kinects plan clean;
    one more Kinect exceeds the limit, and the rule names the subordinates only."""
    rule = {"star": "K4A-STAR-MAX", "daisy-chain": "K4A-DAISY-MAX"}[topology]
    fits = plan_of(HOST + GEN + "".join(kinect(i) for i in range(n)) + kinect_group(n, topology))
    assert rule not in {d.rule for d in fits.diagnostics}
    over = plan_of(HOST + GEN + "".join(kinect(i) for i in range(n + 1)) + kinect_group(n + 1, topology))
    found = [d for d in over.diagnostics if d.rule == rule]
    assert len(found) == 1 and set(found[0].devices) == {f"k{i}" for i in range(1, n + 1)}
    assert f"has {limit + 1} subordinates" in found[0].message


def test_a_kinect_set_to_master_mode_under_an_external_trigger_is_an_error() -> None:
    """K4A-EXT-TRIGGER-MASTER names the Kinect set to master mode; the subordinates still hang off its sync out."""
    plan = plan_of(HOST + GEN + "".join(kinect(i) for i in range(3)) + kinect_group(3, "star", {0: 'role = "master"'}))
    found = [d for d in plan.errors if d.rule == "K4A-EXT-TRIGGER-MASTER"]
    assert len(found) == 1 and found[0].devices == ("k0",) and "ignores Sync in" in found[0].message
    assert plan.device("k0").role is Role.MASTER and plan.device("k0").trigger is None
    assert plan.device("k1").trigger is not None and plan.device("k1").trigger.source == "k0"


@pytest.mark.parametrize("master", sorted(MASTERS))
def test_genlock_group_mastered_by_another_camera_plans_clean(master: str, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A D415 (rolling shutter) or a Femto Bolt masters two Genlocked D435: no error; the master's sync out drives
    both D435 inputs at its level through the splitter; the group runs at the master's 30 Hz."""
    _, _, role, out_port, level = MASTERS[master]
    status, terminal, doc = cli_plan(genlock_rig(master), tmp_path, capsys)
    assert status == 0 and doc["summary"]["errors"] == 0, [d for d in doc["diagnostics"] if d["severity"] == "error"]
    assert doc["groups"][0]["trigger_rate_hz"] == 30
    devices = {d["device_id"]: d for d in doc["devices"]}
    assert f'{devices["m"]["role"]} ({devices["m"]["vendor_role"]})' == role and devices["m"]["trigger_out"]
    for r in ("r1", "r2"):
        link = devices[r]["trigger"]
        assert devices[r]["vendor_role"] == "4" and link["source"] == "m" and link["splitter"]
        assert (link["source_port"], link["level_out_v"], link["level_in_v"]) == (f"m {out_port}", level, 1.8)
        assert link["detected"] and not link["level_shifter"]
    rows = {line.split("│")[1].strip(): line for line in terminal.splitlines() if line.count("│") > 5}
    assert role in rows["m"] and f"m {out_port} -> sync-in, 1.8 V -> 1.8 V, via splitter" in rows["r1"]


def test_a_genlock_master_without_a_sync_output_is_refused() -> None:
    """SYNC-METHOD-UNSUPPORTED still refuses a Genlock master that has nothing to drive the D435s with (a webcam),
    and a non-master member that cannot Genlock (a D415)."""
    text = genlock_rig("d415").replace('model = "realsense-d415"', 'model = "uvc-webcam"').replace(
        MASTERS["d415"][1], '{ kind = "color", width = 640, height = 480, fps = 30, format = "mjpeg" }')
    found = [d for d in plan_of(text).errors if d.rule == "SYNC-METHOD-UNSUPPORTED"]
    assert len(found) == 1 and found[0].devices == ("m",) and "no sync output" in found[0].message
    member = genlock_rig("bolt").replace('id = "r2"\nmodel = "realsense-d435"', 'id = "r2"\nmodel = "realsense-d415"')
    found = [d for d in plan_of(member).errors if d.rule == "SYNC-METHOD-UNSUPPORTED"]
    assert len(found) == 1 and found[0].devices == ("r2",)
