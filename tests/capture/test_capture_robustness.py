"""A capture keeps what it recorded: through disconnects, a failing device, Ctrl-C and SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.core.errors import DriverError
from rigsync.core.frameset import MissingReason
from rigsync.drivers.factory import open_drivers
from rigsync.drivers.sim.driver import SimDevice
from rigsync.plan import build_plan
from rigsync.record.reader import open_recording
from rigsync.spec import load_rig, loads_rig

EXAMPLES = Path(__file__).parents[2] / "examples"

TWO_KINECTS = """
[sim]
render_width = 64

[[hosts]]
name = "h"

[[devices]]
id = "k0"
model = "azure-kinect-dk"
serial = "K0"
host = "h"
connection = "usb:c0"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 }]

[[devices]]
id = "k1"
model = "azure-kinect-dk"
serial = "K1"
host = "h"
connection = "usb:c1"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 }]

[[sync]]
name = "star"
method = "hardware"
topology = "star"
source = { device = "k0" }
members = [{ device = "k0" }, { device = "k1" }]
"""


def capture(text: str, out: Path, seconds: float = 3.0) -> object:
    rig = loads_rig(text, "t.toml")
    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=seconds, fast=True)) as session:
        return session.run()


def test_disconnect_and_reconnect_mid_capture(tmp_path: Path) -> None:
    """A subordinate that drops off the bus and comes back: the capture goes on, sets list it as
    disconnected meanwhile, and after it returns its frames are matched again."""
    fault = '[[faults]]\ndevice = "k1"\nkind = "disconnect"\nat_s = 1.0\nduration_s = 0.5\n'
    out = tmp_path / "d.mcap"
    result = capture(TWO_KINECTS + fault, out)
    assert any("k1 disconnected" in w for w in result.warnings)  # type: ignore[attr-defined]
    with open_recording(out) as rec:
        sets = list(rec.framesets())
        truth = [t for t in rec.truth() if t.device == "k1"]  # seq numbers restart after the reconnect
    reasons = [m.reason for fs in sets for m in fs.missing if m.device == "k1"]
    assert MissingReason.DISCONNECTED in reasons
    late = [fs for fs in sets if fs.rig_time_ns > sets[0].rig_time_ns + 2.2e9]
    assert late and all(any(m.device == "k1" for m in fs.members) for fs in late[:-1])
    assert any(not t.delivered for t in truth)


def test_a_failing_device_does_not_end_the_capture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When one device's driver fails, the others keep recording and the file is complete."""
    rig = loads_rig(TWO_KINECTS, "t.toml")
    drivers = open_drivers(rig, build_plan(rig), fast=True)
    original = SimDevice.poll
    calls = {"n": 0}

    def flaky(self: SimDevice) -> list[object]:
        if self.info.serial == "K1":
            calls["n"] += 1
            if calls["n"] > 30:
                raise DriverError("sim", "K1", "USB transfer error")
        return original(self)  # type: ignore[return-value]

    monkeypatch.setattr(SimDevice, "poll", flaky)
    out = tmp_path / "f.mcap"
    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=3.0, fast=True), drivers=drivers) as s:
        result = s.run()
    assert any("k1 failed" in w for w in result.warnings)
    with open_recording(out) as rec:
        assert not rec.recovered
        counts = {(s.device, s.stream): s.message_count for s in rec.streams}
    assert counts[("k0", "color")] > 50 > counts[("k1", "color")]


def test_stop_request_leaves_a_complete_file(tmp_path: Path) -> None:
    """Stopping mid-capture (what Ctrl-C does) ends cleanly with a finished, indexed file."""
    rig = load_rig(EXAMPLES / "kinect_star.toml")
    stop = threading.Event()
    out = tmp_path / "s.mcap"
    statuses = []

    def on_status(status: object) -> None:
        statuses.append(status)
        if len(statuses) == 3:
            stop.set()

    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=60, fast=True, status_interval_s=0.0)) as s:
        result = s.run(on_status=on_status, stop=stop)
    assert result.duration_s < 60
    with open_recording(out) as rec:
        assert not rec.recovered
        assert rec.metadata["rigsync.clocks"]


def run_cli_in_subprocess(tmp_path: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "rigsync.cli.main", "capture", str(EXAMPLES / "kinect_star.toml"), "--seconds",
         "600", "--quiet", "--out", str(out)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def wait_for_bytes(path: Path, size: int, proc: subprocess.Popen[bytes]) -> None:
    """Block until the recording has grown past ``size`` bytes (the capture is really writing)."""
    import time

    deadline = time.monotonic() + 60
    while not path.exists() or path.stat().st_size < size:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else b""
        assert time.monotonic() < deadline, "the capture never wrote"
        time.sleep(0.05)


def test_ctrl_c_leaves_a_complete_file(tmp_path: Path) -> None:
    """SIGINT (Ctrl-C) on a real-time capture stops it cleanly: exit 0 and a finished file."""
    out = tmp_path / "c.mcap"
    proc = run_cli_in_subprocess(tmp_path, out)
    wait_for_bytes(out, 12 << 20, proc)
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=60) == 0
    with open_recording(out) as rec:
        assert not rec.recovered
        assert sum(1 for _ in rec.framesets()) > 10


def test_sigkill_leaves_a_recoverable_file(tmp_path: Path) -> None:
    """A capture killed with SIGKILL leaves a file read back up to its last complete chunk."""
    out = tmp_path / "k.mcap"
    proc = run_cli_in_subprocess(tmp_path, out)
    wait_for_bytes(out, 20 << 20, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with open_recording(out) as rec:
        assert rec.recovered
        framesets = sum(1 for _ in rec.framesets())
        images = sum(1 for _ in rec.images("kinect-master", "color"))
    assert framesets > 10 and images > 10


def test_frames_the_recorder_refuses_are_in_no_frameset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame the recorder could not take is counted as recorder_overrun and named by no frameset."""
    from rigsync.record.recorder import Recorder

    original = Recorder.write_image
    refused: set[tuple[str, int]] = set()

    def picky(self: Recorder, frame: object) -> bool:
        f = frame.frame  # type: ignore[attr-defined]
        if f.device == "k1" and f.seq % 10 == 3:
            refused.add((f.device, f.seq))
            return False
        return original(self, frame)  # type: ignore[arg-type]

    monkeypatch.setattr(Recorder, "write_image", picky)
    out = tmp_path / "r.mcap"
    result = capture(TWO_KINECTS, out, seconds=2.0)
    assert result.dropped.get("recorder_overrun") == len(refused) > 0  # type: ignore[attr-defined]
    assert "device" not in result.dropped  # type: ignore[attr-defined]
    with open_recording(out) as rec:
        named = {(m.device, m.seq) for fs in rec.framesets() for m in fs.members}
    assert not named & refused


def test_disk_failure_stops_the_capture_and_keeps_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When the disk fills up mid-capture, the capture stops with a clear error and what was written is
    readable."""
    import errno

    from rigsync.record import mcap_writer

    original = mcap_writer.FileSink.write_at
    written = {"n": 0}

    def filling(self: mcap_writer.FileSink, offset: int, pieces: object) -> None:
        written["n"] += 1
        if written["n"] > 120:  # about 30 MB: a few complete chunks, then a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        original(self, offset, pieces)  # type: ignore[arg-type]

    monkeypatch.setattr(mcap_writer.FileSink, "write_at", filling)
    out = tmp_path / "full.mcap"
    rig = load_rig(EXAMPLES / "kinect_star.toml")
    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=30, fast=True)) as session:
        result = session.run()
    assert result.error is not None and "No space left" in result.error
    assert result.duration_s < 30
    monkeypatch.undo()
    with open_recording(out) as rec:
        first = rec.streams[0]
        assert sum(1 for _ in rec.images(first.device, first.stream)) == first.message_count > 0
