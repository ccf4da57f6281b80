"""A capture keeps what it recorded: through disconnects, a failing device, a slow disk, Ctrl-C, SIGTERM and
SIGKILL."""

from __future__ import annotations

import dataclasses
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from tests.record.schema_check import schema_problems

from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.cli.main import main
from rigsync.core.errors import DriverError
from rigsync.core.frame import Frame, FrameFlags
from rigsync.core.frameset import MissingReason
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.drivers.factory import open_drivers
from rigsync.drivers.sim.driver import SimDevice
from rigsync.plan import build_plan
from rigsync.record.mcap_writer import McapChunkWriter
from rigsync.record.reader import Recording, open_recording
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
    disconnected meanwhile, and after it returns its frames are matched again; its disconnect and reconnect are on
    /rigsync/events, valid against rigsync.DeviceEvent."""
    fault = '[[faults]]\ndevice = "k1"\nkind = "disconnect"\nat_s = 1.0\nduration_s = 0.5\n'
    out = tmp_path / "d.mcap"
    result = capture(TWO_KINECTS + fault, out)
    assert any("k1 disconnected" in w for w in result.warnings)  # type: ignore[attr-defined]
    with open_recording(out) as rec:
        sets = list(rec.framesets())
        truth = [t for t in rec.truth() if t.device == "k1"]  # seq numbers restart after the reconnect
        events = [e for _, e in rec.json_messages("/rigsync/events")]
    reasons = [m.reason for fs in sets for m in fs.missing if m.device == "k1"]
    assert MissingReason.DISCONNECTED in reasons
    late = [fs for fs in sets if fs.rig_time_ns > sets[0].rig_time_ns + 2.2e9]
    assert late and all(any(m.device == "k1" for m in fs.members) for fs in late[:-1])
    assert any(not t.delivered for t in truth)
    assert [e["kind"] for e in events] == ["disconnected", "reconnected"] and schema_problems(out) == []


def test_a_slow_disk_costs_a_fast_capture_no_frame(tmp_path: Path, contract: SimpleNamespace,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """--fast with a disk that stalls 1 s on its first chunk (longer than the queue's age bound and the
    real-time put timeout together, which once made the recorder refuse frames): the capture waits for the
    writer, refuses no frame, and records the same framesets and statistics as with a fast disk."""
    fast_disk = tmp_path / "fast.mcap"
    capture(TWO_KINECTS, fast_disk, 24.0)
    chunks = Counter[str]()
    original = McapChunkWriter.flush_chunk

    def slow_flush(self: McapChunkWriter) -> None:
        chunks["written"] += 1
        if chunks["written"] == 1:
            time.sleep(1.0)
        original(self)

    monkeypatch.setattr(McapChunkWriter, "flush_chunk", slow_flush)
    slow_disk = tmp_path / "slow.mcap"
    result = capture(TWO_KINECTS, slow_disk, 24.0)
    assert "recorder_overrun" not in result.dropped  # type: ignore[attr-defined]
    assert chunks["written"] > 1  # the stall came while capturing
    fast, slow = contract.read(fast_disk), contract.read(slow_disk)
    assert slow.framesets == fast.framesets and len(fast.framesets) > 200
    assert {k: v for k, v in slow.stats.items() if k != "recorder"} == \
        {k: v for k, v in fast.stats.items() if k != "recorder"}


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


def test_a_frame_that_arrives_without_its_image_is_named_corrupt_and_the_recording_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, contract: SimpleNamespace) -> None:
    """A driver's frame with no image mid-capture (a GigE frame missing packets is delivered CORRUPT without one):
    the recording goes on; the frame is not recorded, is a ``corrupt`` drop of its stream, and the frameset at its
    true exposure names the stream ``corrupt``; every other frame of k1 after the warm-up is a member of a set."""
    rig = loads_rig(TWO_KINECTS, "t.toml")
    drivers = open_drivers(rig, build_plan(rig), fast=True)
    original = SimDevice.poll
    emptied: list[int] = []

    def damaged(self: SimDevice) -> list[object]:
        items = original(self)
        for i, item in enumerate(items):
            if isinstance(item, Frame) and item.device == "k1" and item.seq % 10 == 5:
                items[i] = dataclasses.replace(item, image=None, flags=item.flags | FrameFlags.CORRUPT)
                emptied.append(item.seq)
        return items  # type: ignore[return-value]

    monkeypatch.setattr(SimDevice, "poll", damaged)
    out = tmp_path / "e.mcap"
    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=3.0, fast=True), drivers=drivers) as s:
        result = s.run()
    assert result.error is None and not result.interrupted
    rec = contract.read(out)
    recorded = {f["seq"] for f in rec.frames if f["device"] == "k1"}
    after_warmup = [q for q in emptied if q > min(recorded)]  # (earlier ones came in the warm-up: counted so)
    assert len(after_warmup) > 5 and not recorded & set(emptied)
    stats = rec.stats["k1/color"]
    assert stats["dropped"]["corrupt"] == stats["missing"]["corrupt"] == len(after_warmup)
    assert stats["frames"] == stats["matched"] + len(after_warmup) == len(recorded) + len(after_warmup)
    truth = rec.truth_by_seq()
    half_ns = 1e9 / 30 / 2
    for seq in after_warmup:
        exposure_ns = truth[("k1", "color", seq)]["exposure_start_ns"]
        [fs] = [fs for fs in rec.framesets if abs(fs["rig_time_ns"] - exposure_ns) < half_ns]
        assert {m["device"]: m["reason"] for m in fs["missing"]}["k1"] == "corrupt", fs


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


def test_an_interrupted_close_is_finished_when_the_session_ends(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A KeyboardInterrupt raised as the recording is being finished (a library user's second Ctrl-C) propagates,
    and leaving the session's block still finishes the file."""
    from rigsync.record.recorder import Recorder

    original = Recorder.close
    calls: list[dict[str, object]] = []

    def interrupted_once(self: Recorder, **kwargs: object) -> None:
        calls.append(kwargs)
        if len(calls) == 1:
            raise KeyboardInterrupt
        original(self, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Recorder, "close", interrupted_once)
    out = tmp_path / "i.mcap"
    with pytest.raises(KeyboardInterrupt):
        capture(TWO_KINECTS, out, seconds=1.0)
    assert len(calls) == 2
    with open_recording(out) as rec:
        assert not rec.recovered and "k0/color" in rec.metadata["rigsync.stats"]


def run_cli_in_subprocess(tmp_path: Path, out: Path) -> subprocess.Popen[str]:
    """A real-time capture of the Kinect star by the CLI, started as a terminal starts a foreground job: with
    SIGINT delivered. (A child inherits an ignored signal, and pytest may have SIGINT ignored: a non-interactive
    shell starts its background jobs so. The capture then rightly ignores Ctrl-C, as POSIX programs do.)"""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "rigsync.cli.main", "capture", str(EXAMPLES / "kinect_star.toml"), "--seconds",
             "600", "--quiet", "--out", str(out)],
            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)


class Terminal:
    """What the capture prints, line by line, read on a thread so that every wait is bounded."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        assert proc.stdout is not None
        threading.Thread(target=lambda: [self.lines.put(line) for line in proc.stdout or ()], daemon=True).start()

    def signal(self, signum: int, expect: str, timeout_s: float = 30.0) -> None:
        """Send ``signum``; wait for the line that says the capture took it (it contains ``expect``)."""
        self.proc.send_signal(signum)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.001))
            except queue.Empty:
                raise AssertionError(f"the capture never said {expect!r} after signal {signum}") from None
            if expect in line:
                return


def wait_for_bytes(path: Path, size: int, proc: subprocess.Popen[str]) -> None:
    """Block until the recording has grown past ``size`` bytes (the capture is really writing)."""
    deadline = time.monotonic() + 60
    while not path.exists() or path.stat().st_size < size:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the capture never wrote"
        time.sleep(0.05)


def assert_finished(out: Path) -> None:
    """A finished recording (summary, footer, end metadata) whose every image has its stamp."""
    with open_recording(out) as rec:
        assert not rec.recovered and "rigsync.stats" in rec.metadata
        assert sum(1 for _ in rec.framesets()) > 10
        assert_images_have_stamps(rec)


def assert_images_have_stamps(rec: Recording) -> None:
    """As many /rigsync/frames stamps as images in every stream, each for another frame (tests/record checks
    chunk by chunk that each image is with its own stamp and camera_info)."""
    stamps = [(s.device, s.stream, s.seq) for s in rec.frames()]
    assert len(set(stamps)) == len(stamps)
    per_stream = Counter((device, stream) for device, stream, _ in stamps)
    assert per_stream and per_stream == {(s.device, s.stream): s.message_count for s in rec.streams}


STOPPING = (signal.SIGINT, "Ctrl-C: stopping, finishing the recording")


@pytest.mark.parametrize("signals", [
    [STOPPING],
    [(signal.SIGTERM, "SIGTERM: stopping, finishing the recording")],
    [STOPPING, (signal.SIGINT, "Ctrl-C: still finishing")],
], ids=["ctrl-c", "sigterm", "ctrl-c-twice"])  # fmt: skip
def test_ctrl_c_or_sigterm_finishes_the_file(tmp_path: Path, signals: list[tuple[int, str]]) -> None:
    """Ctrl-C, SIGTERM (service managers, timeout) or Ctrl-C twice on a real-time capture: it says what it does,
    exits 0 and the file is finished."""
    out = tmp_path / "s.mcap"
    proc = run_cli_in_subprocess(tmp_path, out)
    wait_for_bytes(out, 4 << 20, proc)
    terminal = Terminal(proc)
    for signum, says in signals:
        terminal.signal(signum, says)
    assert proc.wait(timeout=60) == 0
    assert_finished(out)


def test_a_third_ctrl_c_abandons_a_recoverable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C three times: the capture exits at once with 130, leaving a file recovered up to its last complete
    chunk, every recovered image with its stamp."""
    out = tmp_path / "c3.mcap"
    proc = run_cli_in_subprocess(tmp_path, out)
    wait_for_bytes(out, 12 << 20, proc)
    terminal = Terminal(proc)
    for says in ("Ctrl-C: stopping", "Ctrl-C: still finishing", "Ctrl-C: abandoned"):
        terminal.signal(signal.SIGINT, says)
    assert proc.wait(timeout=10) == 130
    with open_recording(out) as rec:
        assert rec.recovered and sum(1 for _ in rec.framesets()) > 10
        assert_images_have_stamps(rec)
    assert main(["info", str(out)]) == 0
    assert "recovered" in capsys.readouterr().out


def test_sigkill_leaves_a_recoverable_file(tmp_path: Path) -> None:
    """A capture killed with SIGKILL leaves a file read back up to its last complete chunk, every image with
    its stamp."""
    out = tmp_path / "k.mcap"
    proc = run_cli_in_subprocess(tmp_path, out)
    wait_for_bytes(out, 20 << 20, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    with open_recording(out) as rec:
        assert rec.recovered
        framesets = sum(1 for _ in rec.framesets())
        images = sum(1 for _ in rec.images("kinect-master", "color"))
        assert_images_have_stamps(rec)
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

    from rigsync.record import file_sink

    original = file_sink.FileSink.write_at
    written = {"n": 0}

    def filling(self: file_sink.FileSink, offset: int, pieces: object) -> None:
        written["n"] += 1
        if written["n"] > 60:  # a few complete chunks of every stream (~30 writes hold the first), then a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        original(self, offset, pieces)  # type: ignore[arg-type]

    monkeypatch.setattr(file_sink.FileSink, "write_at", filling)
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


def test_every_frame_of_a_driver_overrun_is_counted_as_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A driver's queue that lost three consecutive frames reports one OVERRUN (first seq, count 3): the capture
    counts all three as host overruns, and their framesets name k1 missing as dropped, not as never received."""
    rig = loads_rig(TWO_KINECTS, "t.toml")
    original = SimDevice.poll
    lost = {40, 41, 42}

    def overrun(self: SimDevice) -> list[object]:
        items = original(self)
        if self.info.serial != "K1":
            return items  # type: ignore[return-value]
        out: list[object] = []
        for item in items:
            if isinstance(item, Frame) and item.seq in lost:
                if item.seq == min(lost):
                    out.append(DeviceEvent("k1", EventKind.OVERRUN, item.host_rx_ns, "color", len(lost), item.seq))
                continue
            out.append(item)
        return out

    monkeypatch.setattr(SimDevice, "poll", overrun)
    out = tmp_path / "o.mcap"
    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=3.0, fast=True)) as s:
        result = s.run()
    assert result.dropped.get("host_overrun") == 3
    with open_recording(out) as rec:
        missing = [m.reason for fs in rec.framesets() for m in fs.missing if m.device == "k1"]
    assert missing == [MissingReason.DROPPED] * 3


def test_what_a_driver_has_to_say_is_in_the_capture_warnings_once(tmp_path: Path) -> None:
    """A driver's warnings (Driver.take_warnings: a remote world that took a control late) reach the capture's
    warnings, each once, though the session asks the driver again and again."""
    rig = load_rig(Path(__file__).parents[2] / "examples" / "studio.toml")
    plan = build_plan(rig)
    drivers = open_drivers(rig, plan, fast=True)
    said = ["host b's world took the stop of k1 300 ms after its instant"]
    for driver in drivers.values():
        driver.take_warnings = lambda: [said.pop()] if said else []  # type: ignore[method-assign]
    options = CaptureOptions(out=tmp_path / "w.mcap", seconds=1.0, fast=True, force=True)
    with CaptureSession(plan, options, drivers=drivers) as session:
        result = session.run()
    assert result.warnings.count("host b's world took the stop of k1 300 ms after its instant") == 1


def test_a_driver_record_on_a_topic_without_schema_is_left_out_with_one_warning(tmp_path: Path) -> None:
    """A driver's record (Driver.send_records_to) on a topic rigsync has no JSON schema for is not recorded (no
    schemaless channel): the capture warns once and records the rest, every channel with its schema."""
    rig = load_rig(EXAMPLES / "studio.toml")
    plan = build_plan(rig)
    drivers = open_drivers(rig, plan, fast=True)
    sinks: list[Any] = []

    def record_something() -> list[str]:  # the session asks every poll for warnings: the records come meanwhile
        for sink in sinks:
            sink("/rigsync/mystery", {"n": 1})
        return []

    for driver in drivers.values():
        driver.send_records_to = sinks.append  # type: ignore[method-assign]
        driver.take_warnings = record_something  # type: ignore[method-assign]
    out = tmp_path / "m.mcap"
    with CaptureSession(plan, CaptureOptions(out=out, seconds=1.0, fast=True, force=True), drivers=drivers) as s:
        result = s.run()
    assert sinks and result.error is None and result.frames > 0
    warning = "a driver's records on /rigsync/mystery are not recorded: the topic has no JSON schema"
    assert result.warnings.count(warning) == 1
    with open_recording(out) as rec:
        assert "/rigsync/mystery" not in rec.json_topics()
    assert schema_problems(out) == []
