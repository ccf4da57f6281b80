"""The PTP commands that need no root: config files, status from state files, the simulated clock test, and a
scheduled-start capture."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from rigsync.cli.main import main
from rigsync.record.reader import open_recording

EXAMPLES = Path(__file__).parents[2] / "examples"


def test_ptp_config_writes_every_ptp_host(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One ptp4l config and one start script per PTP host, and the -O 0 explanation."""
    assert main(["ptp", "config", str(EXAMPLES / "zed_ptp_three_hosts.toml"), "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [f"{kind}-capture-{h}.{ext}" for h in "abc" for kind, ext in (("ptp", "sh"),)] + [
        f"ptp4l-capture-{h}.conf" for h in "abc"]
    assert "37 s" in capsys.readouterr().out
    assert (tmp_path / "ptp-capture-b.sh").stat().st_mode & 0o111


def test_ptp_config_refuses_a_host_outside_ptp(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A host not in any PTP group is an error naming the PTP hosts."""
    assert main(["ptp", "config", str(EXAMPLES / "zed_ptp_three_hosts.toml"), "--host", "nope",
                 "--out", str(tmp_path)]) == 2
    assert "capture-a, capture-b, capture-c" in capsys.readouterr().err


def state(host: str, level: str, *, age_s: float = 0.0, stopped: bool = False) -> dict[str, object]:
    return {"host": host, "updated_realtime_ns": time.time_ns() - int(age_s * 1e9), "stopped": stopped,
            "clock_identity": "aaaaaa.fffe.000001", "timestamping": "hardware",
            "daemons": {"ptp4l": {"pid": 4242, "restarts": 1}},
            "status": {"host": host, "role": "ptp", "mode": "discipline", "level": level, "reason": "locked",
                       "port_state": "SLAVE", "offset_ns": 37, "mean_path_delay_ns": 900, "bound_ns": 980}}


def test_ptp_status_shows_levels_and_silent_supervisors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """State files: a locked host is ok; a supervisor silent for a minute is an error; a rig host without any
    report is listed missing; the exit code says something is wrong."""
    (tmp_path / "ptp-capture-b.json").write_text(json.dumps(state("capture-b", "ok")))
    (tmp_path / "ptp-capture-c.json").write_text(json.dumps(state("capture-c", "ok", age_s=60)))
    rc = main(["ptp", "status", str(EXAMPLES / "zed_ptp_three_hosts.toml"), "--state-dir", str(tmp_path), "--json"])
    shown = json.loads(capsys.readouterr().out)
    levels = {h["host"]: (h["level"], h["reason"]) for h in shown["hosts"]}
    assert levels["capture-b"] == ("ok", "locked")
    assert levels["capture-c"][0] == "error" and "silent" in levels["capture-c"][1]
    assert shown["missing"] == ["capture-a"] and rc == 1


def test_clock_test_on_the_simulator_draws_the_curve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """seeds/000's test: CURRENT - IMAGE jumps by the 1 s step, holds, decays, returns; a PNG marking step and slew."""
    png = tmp_path / "ct.png"
    assert main(["clock-test", "--seconds", "20", "--at", "3", "--png", str(png), "--every", "5"]) == 0
    out = capsys.readouterr().out
    assert "never back (0 backward steps)" in out and "the step showed as 10" in out
    assert "held by the rig's schedule until 3." in out and "s after the step" in out
    image = cv2.imread(str(png))
    assert image is not None and image.shape[:2] == (450, 1000)
    mark_bgr = np.array([0x2B, 0x39, 0xC0])  # the clock-step and slew-start marks: dashed lines in their colour
    columns = np.flatnonzero((np.abs(image.astype(int) - mark_bgr).sum(axis=2) < 30).sum(axis=0) > 50)
    assert len(columns) >= 2 and columns.max() - columns.min() > 50  # two vertical lines, apart


def test_capture_start_at_records_from_the_start_time(tmp_path: Path) -> None:
    """``capture --start-at +1s``: the recording's first frames are at the scheduled rig time, not before."""
    out = tmp_path / "s.mcap"
    assert main(["capture", str(EXAMPLES / "gige_ptp_four.toml"), "--fast", "--seconds", "1", "--start-at", "+1s",
                 "--quiet", "--out", str(out)]) == 0
    with open_recording(out) as rec:
        start = json.loads(rec.metadata["rigsync.stats"]["scheduled_start"])["rig_ns"]
        firsts = {}
        for f in rec.frames():
            firsts.setdefault(f.device, f.rig_time_ns)
    assert len(firsts) == 4 and all(abs(t - start) < 1_000 for t in firsts.values())


def test_capture_start_at_rejects_a_bad_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A start time that cannot be read is an error naming the option and the forms allowed (exit 2)."""
    with pytest.raises(SystemExit) as exit_info:
        main(["capture", str(EXAMPLES / "gige_ptp_four.toml"), "--fast", "--seconds", "1", "--start-at", "soon",
              "--out", str(tmp_path / "x.mcap")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --start-at: 'soon': not a start time" in err and "+2s" in err


def test_hosts_table_shows_a_reference_step_while_it_happens() -> None:
    """During a step of the reference the live hosts table shows each host's level with the step's size, when it
    was found, its phase and what is left; host names are shown as text, not markup."""
    from rich.console import Console

    from rigsync.capture.status import CaptureStatus
    from rigsync.cli.view import hosts_table
    from rigsync.core.ptp import HostRole, PtpMode, SyncLevel
    from rigsync.timebase.host import HostSyncStatus
    from rigsync.timebase.steps import StepPhase

    reason = "reference stepped +1000.0 ms at 10:00:03.006 (gm): slewing, 420.0 ms left"
    hosts = (HostSyncStatus("gm", HostRole.REFERENCE, None, SyncLevel.WARN, reason, step_ns=1_000_000_000,
                            step_phase=StepPhase.SLEWING, step_left_ns=420_000_000),
             HostSyncStatus("kin[/x]", HostRole.PTP, PtpMode.DISCIPLINE, SyncLevel.OK, "locked"))
    console = Console(record=True, width=250)
    table = hosts_table(CaptureStatus(1.0, None, (), 0, 0, 0.0, 0.0, hosts=hosts))
    assert table is not None
    console.print(table)
    text = console.export_text()
    assert f"warn {reason}" in text and "kin[/x]" in text and "ok locked" in text
