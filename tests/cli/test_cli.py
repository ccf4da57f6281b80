"""The rigsync command: capture, devices, info, and clear errors with a non-zero exit."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigsync.cli.main import main

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_capture_prints_live_status_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A capture shows per-stream status (fps, drops, skew, clock bound) and a final summary."""
    out = tmp_path / "s.mcap"
    assert main(["capture", str(EXAMPLES / "realsense_genlock.toml"), "--seconds", "2", "--fast", "--out",
                 str(out)]) == 0
    text = capsys.readouterr().out
    for word in ("skew p99 us", "clock bound us", "rs-genlock-1/depth", "capture summary", "framesets",
                 str(out)):
        assert word in text
    assert out.stat().st_size > 0


def test_info_describes_a_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """info lists devices, streams with frame counts, framesets, drops and duration."""
    out = tmp_path / "s.mcap"
    assert main(["capture", str(EXAMPLES / "orbbec_primary_secondary.toml"), "--seconds", "2", "--fast", "--quiet",
                 "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    for word in ("bolt-primary/color", "bolt-secondary/depth", "framesets", "duration", "16UC1", "dropped"):
        assert word in text


def test_devices_lists_the_simulated_rig(capsys: pytest.CaptureFixture[str]) -> None:
    """devices shows every device found per driver, by serial; GMSL cameras need their Jetson."""
    assert main(["devices", str(EXAMPLES / "zedx_quad.toml")]) == 0
    text = capsys.readouterr().out
    assert "sim: 4 device(s)" in text and "45000003" in text


def test_devices_without_rig(capsys: pytest.CaptureFixture[str]) -> None:
    """devices without a rig names the drivers and how the simulator's devices are found."""
    assert main(["devices"]) == 0
    assert "sim" in capsys.readouterr().out


def test_bad_rig_file_exits_2_with_the_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A wrong rig file is reported with file, field and value, and the command exits with 2."""
    bad = tmp_path / "bad.toml"
    bad.write_text((EXAMPLES / "kinect_star.toml").read_text().replace("fps = 30", "fps = 25", 1))
    assert main(["capture", str(bad), "--seconds", "1", "--fast"]) == 2
    err = capsys.readouterr().err
    assert "bad.toml: devices[0].streams[0].fps = 25" in err and "5, 15, 30" in err


def test_fast_needs_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    """A virtual-time capture without a duration is refused with a reason."""
    assert main(["capture", str(EXAMPLES / "kinect_star.toml"), "--fast"]) == 2
    assert "--seconds" in capsys.readouterr().err


def test_info_on_a_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """info on a file that does not exist is an error, not a traceback."""
    assert main(["info", str(tmp_path / "nope.mcap")]) == 2
    assert "nope.mcap" in capsys.readouterr().err


def test_plan_prints_groups_start_order_budgets_and_diagnostics(capsys: pytest.CaptureFixture[str]) -> None:
    """plan shows every sync group with vendor roles, the start order, budgets and the diagnostics; exit 0."""
    assert main(["plan", str(EXAMPLES / "studio.toml")]) == 0
    text = capsys.readouterr().out
    for word in ("sync group kinects", "subordinate (subordinate)", "genlock (4)", "PtpStatus=Slave",
                 "start order", "master last", "budgets", "usb pcie2", "host set-up", "RS-COLOR-FREE-RUN"):
        assert word in text, word


def test_plan_exits_non_zero_on_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A rig with an error plans with exit status 1 and names the rule."""
    bad = tmp_path / "bad.toml"
    bad.write_text((EXAMPLES / "kinect_star.toml").read_text().replace("delay_us = 160", "delay_us = 0"))
    assert main(["plan", str(bad)]) == 1
    assert "TOF-INTERFERENCE" in capsys.readouterr().out


def test_capture_refuses_errors_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """capture prints the plan's errors and refuses (exit 2); --force captures anyway."""
    bad = tmp_path / "bad.toml"
    bad.write_text((EXAMPLES / "kinect_star.toml").read_text().replace("delay_us = 160", "delay_us = 0"))
    out = tmp_path / "x.mcap"
    assert main(["capture", str(bad), "--seconds", "1", "--fast", "--quiet", "--out", str(out)]) == 2
    assert "TOF-INTERFERENCE" in capsys.readouterr().err
    assert main(["capture", str(bad), "--seconds", "1", "--fast", "--quiet", "--force", "--out", str(out)]) == 0


def test_plan_json(capsys: pytest.CaptureFixture[str]) -> None:
    """plan --json gives the same plan for tools: groups, roles, links, budgets, diagnostics."""
    import json

    assert main(["plan", str(EXAMPLES / "kinect_daisy_chain.toml"), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["summary"]["errors"] == 0
    assert plan["groups"][0]["trigger_rate_hz"] == 30
    devices = {d["device_id"]: d for d in plan["devices"]}
    assert devices["k0"]["vendor_role"] == "master" and devices["k8"]["vendor_role"] == "subordinate"
    assert devices["k8"]["trigger"]["hop"] == 8 and devices["k8"]["delay_ns"] == 1_280_000
    assert plan["start_order"][-1] == "k0"
    assert {b["kind"] for b in plan["budgets"]} >= {"usb", "usbfs-memory"}
    assert any(d["rule"] == "USBFS-MEMORY" for d in plan["diagnostics"])


def test_plan_emit_writes_vendor_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """plan --emit writes each vendor's own files for the rig."""
    assert main(["plan", str(EXAMPLES / "studio.toml"), "--emit", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"k4arecorder.sh", "realsense_options.json", "gige-top.genicam.txt", "README.txt"} <= names
    assert "multi_device_sync_config.json" not in names  # no Orbbec in the studio


def test_plan_diagram(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """plan --diagram draws the wiring (DOT always; SVG with Graphviz installed)."""
    import shutil

    dot = tmp_path / "w.dot"
    assert main(["plan", str(EXAMPLES / "kinect_star.toml"), "--diagram", str(dot)]) == 0
    assert "kinect-sub2" in dot.read_text()
    if shutil.which("dot") is None:
        pytest.skip("Graphviz (dot) is not installed: apt-get install graphviz")
    svg = tmp_path / "w.svg"
    assert main(["plan", str(EXAMPLES / "kinect_star.toml"), "--diagram", str(svg)]) == 0
    assert svg.read_text().lstrip().startswith(("<?xml", "<svg"))
