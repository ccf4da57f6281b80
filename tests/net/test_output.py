"""An agent's output without a network (nothing drains its send queue, time on a clock the test sets): frames the
full queue refuses go to the spill file, the local copy starts once the queue stays full (with what was queued),
and a frame that reaches neither is counted, named and reported as an overrun event once the queue has room."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("zenoh")

from tests.net.test_agent import TWO_HOSTS

from rigsync.core.frame import ClockDomain, Frame, StampedFrame, TimestampSemantics
from rigsync.core.intrinsics import Intrinsics
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.net import wire
from rigsync.net.agent import rig_keys
from rigsync.net.output import AgentOutput
from rigsync.net.sender import SendQueue, SendQueueConfig
from rigsync.net.spill import SpillFile
from rigsync.plan import build_plan
from rigsync.record.reader import open_recording
from rigsync.spec import load_rig

MIB = 1 << 20
RIG = load_rig(TWO_HOSTS)
PLAN = build_plan(RIG)


class Clock:
    def __init__(self) -> None:
        self.s = 0.0

    def __call__(self) -> float:
        return self.s


class Stamper:
    """Stamps a frame at 1 s + its seq's frame interval (the output only passes stamps on)."""

    def add_clocks(self, realtime_ns: int, monotonic_ns: int) -> None:
        pass

    def stamp(self, frame: Frame) -> StampedFrame:
        return StampedFrame(frame, 1_000_000_000 + frame.seq * 33_333_333, 50_000)


def webcam_frame(seq: int) -> Frame:
    """One 640x480 bgr8 frame of host b's webcam (900 KiB on the wire: one fits a 1 MiB queue)."""
    image = np.full((480, 640, 3), seq, np.uint8)
    return Frame("web", "color", seq, seq * 33_333_333, seq * 33_333_333, TimestampSemantics.START_OF_EXPOSURE,
                 ClockDomain.HOST, 0, None, image, "bgr8")


def output(tmp_path: Path, spill_dir: Path, clock: Clock, log: list[str]) -> tuple[AgentOutput, SpillFile]:
    queue = SendQueue(SendQueueConfig(limit_bytes=MIB, spill_after_s=0.5), clock)
    spill = SpillFile(PLAN, "b", spill_dir, 0, lambda d, s: Intrinsics.from_hfov(640, 480, 70), log=log.append)
    return AgentOutput(RIG.name, "b", rig_keys(RIG), queue, spill=spill, stamper=Stamper(),  # type: ignore[arg-type]
                       log=log.append), spill


def test_refused_frames_are_spilled_and_the_local_copy_starts_with_the_queued_ones_once_the_queue_stays_full(
        tmp_path: Path) -> None:
    """Frame 0 fills the queue; 1 and 2 are refused and spilled (not copied: 0 is only queued); 0.5 s later the
    queue has stayed full: the local copy starts with frame 0 (queued) and takes frame 3 too. The spill file holds
    frames 0-3 once each, with their stamps."""
    clock, log = Clock(), []
    out, spill = output(tmp_path, tmp_path, clock, log)
    out.publish([webcam_frame(0), webcam_frame(1)], (0, 0))
    clock.s = 0.2
    out.publish([webcam_frame(2)], (0, 0))
    assert (out.frames_sent, out.frames_spilled, out.copying) == (1, 2, False)
    clock.s = 0.6  # refused first at t=0
    out.publish([webcam_frame(3)], (0, 0))
    assert (out.frames_sent, out.frames_spilled, out.copying) == (1, 4, True)
    assert len(log) == 1 and log[0].startswith("agent b: the send queue stayed full for 0.5 s")
    spill.close()
    with open_recording(spill.path) as rec:
        frames = sorted(rec.frames(), key=lambda f: f.seq)
    assert [(f.seq, f.rig_time_ns) for f in frames] == [(s, 1_000_000_000 + s * 33_333_333) for s in range(4)]


def test_a_frame_sent_nowhere_is_counted_named_and_reported_as_an_overrun_event(tmp_path: Path) -> None:
    """With the spill folder unwritable (a file), frame 1 refused by the full queue reaches neither: it is counted
    dropped, named (device, stream, seq) in the log, and once the queue has room its overrun event (stream, seq 1)
    is queued for the capture."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    clock, log = Clock(), []
    out, _ = output(tmp_path, blocker / "spill", clock, log)
    out.publish([webcam_frame(0), webcam_frame(1)], (0, 0))
    assert (out.frames_sent, out.frames_spilled, out.frames_dropped) == (1, 0, 1)
    assert log[0].startswith(f"agent b: spilling stopped: cannot make the spill file {blocker / 'spill'}")
    assert log[1].startswith("agent b: frame web/color seq 1 dropped: sent nowhere (cannot make the spill file")
    assert out.queue.take(0) is not None
    out.queue.done()  # the link took frame 0
    out.publish([], (0, 0))
    queued = out.queue.take(0)
    assert queued is not None and queued.key.endswith("/b/@events")
    assert wire.decode(queued.payload) == DeviceEvent("web", EventKind.OVERRUN, 1 * 33_333_333, "color", 1, 1)
