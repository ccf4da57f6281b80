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
