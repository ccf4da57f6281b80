"""The live view during a simulated capture in real time: a Foxglove WebSocket client (``foxglove.sdk.v1``)
receives the previews, calibrations, framesets and status, and the capture records what it records without it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import jsonschema
import numpy as np
import pytest
from foxglove_schemas_protobuf.CameraCalibration_pb2 import CameraCalibration
from foxglove_schemas_protobuf.RawImage_pb2 import RawImage
from tests.capture.conftest import held_to_truth
from tests.live.fgclient import SUBPROTOCOL, FoxgloveClient, Message
from tests.live.rigs import DROPS, KEYS, RIG

from rigsync.capture import CaptureOptions, CaptureResult, CaptureSession
from rigsync.live import LiveFeed, LiveOptions, LiveServer
from rigsync.live.health import STATUS_JSON_SCHEMA
from rigsync.live.server import BACKLOG
from rigsync.plan import build_plan
from rigsync.record import schemas as sc
from rigsync.record.reader import open_recording
from rigsync.spec import loads_rig

pytest.importorskip("foxglove", reason="the live view needs foxglove-sdk: pip install 'rigsync[live]'")

LIVE_FPS = 10.0
LIVE_WIDTH = 64  # the renders are 160x120: previews 64x48


@dataclass
class Live:
    out: Path
    feed: LiveFeed
    messages: list[Message] = field(default_factory=list)
    results: list[CaptureResult] = field(default_factory=list)
    server_info: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    sent: int = 0

    @property
    def result(self) -> CaptureResult:
        return self.results[0]

    def of(self, topic: str) -> list[Message]:
        return [m for m in self.messages if m.topic == topic]


def _capture_live(tmp_path: Path, rig_text: str, topics: list[str], *, seconds: float = 3.0, read: bool = True,
                  live: LiveOptions | None = None, fast: bool = False) -> Live:
    """A capture (in real time, or on the virtual clock with ``fast``) served live on a free loopback port, with a
    client subscribed to ``topics`` from before it starts (reading everything until the final status arrived, or,
    ``read=False``, nothing at all)."""
    live = live or LiveOptions(port=0, fps=LIVE_FPS, max_width=LIVE_WIDTH)
    tmp_path.mkdir(exist_ok=True)
    out = tmp_path / "live.mcap"
    feed = LiveFeed(KEYS, live.fps)
    plan = build_plan(loads_rig(rig_text, "live.toml"))
    with LiveServer(live, feed) as server, \
            CaptureSession(plan, CaptureOptions(out=out, seconds=seconds, fast=fast), frame_observer=feed.frame,
                           frameset_observer=feed.frameset) as session:
        server.calibrate(session.intrinsics)
        client = FoxgloveClient(server.url, timeout_s=0.5, receive_buffer=None if read else 4096)
        try:
            assert client.subprotocol == SUBPROTOCOL
            client.advertised({*topics})
            client.subscribe(topics)
            deadline = time.monotonic() + 5
            while feed.watched != {t.removesuffix("/image")[1:] for t in topics if t.endswith("/image")}:
                assert time.monotonic() < deadline, "the server never saw the subscriptions"
                feed.wait(0.05)
            got = Live(out=out, feed=feed)
            results = got.results
            runner = threading.Thread(target=lambda: results.append(session.run(on_status=feed.status)))
            runner.start()
            deadline = time.monotonic() + seconds + 30
            while time.monotonic() < deadline:
                if not read:
                    runner.join(deadline - time.monotonic())
                    break
                m = client.next_message()
                if m is not None:
                    got.messages.append(m)
                if not runner.is_alive() and results and _final_status_seen(got, results[0]):
                    break
            runner.join(max(0.0, deadline - time.monotonic()))
            assert not runner.is_alive() and results, "the capture did not end"
            got.server_info, got.channels, got.sent = client.server_info, client.channels, server.sent
            assert server.error is None
            return got
        finally:
            client.close()


def _final_status_seen(got: Live, result: CaptureResult) -> bool:
    return any(json.loads(m.payload)["framesets"] == result.framesets for m in got.of("/rigsync/live/status"))


def _recorded(out: Path, device: str, stream: str) -> dict[int, np.ndarray]:
    with open_recording(out) as rec:
        return {r.rig_time_ns: np.array(r.image) for r in rec.images(device, stream)}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    topics = ["/cam/color/image", "/cam/color/camera_info", "/rs/depth/image", "/rigsync/live/status",
              "/rigsync/framesets"]
    yield _capture_live(tmp_path_factory.mktemp("live"), RIG + DROPS, topics)


def test_every_stream_is_advertised_with_the_recordings_topics_and_schemas(served: Live) -> None:
    """serverInfo names rigsync; every stream's image and camera_info, the framesets and the status are advertised
    with the recording's schemas."""
    assert served.server_info["name"] == "rigsync"
    channels = served.channels
    for key in KEYS:
        assert channels[f"/{key}/image"]["schemaName"] == "foxglove.RawImage"
        assert channels[f"/{key}/camera_info"]["schemaName"] == "foxglove.CameraCalibration"
    assert channels["/rigsync/framesets"]["schemaName"] == "rigsync.Frameset"
    assert channels["/rigsync/live/status"]["schemaName"] == "rigsync.LiveStatus"


def test_a_preview_is_a_recorded_frame_downscaled_at_its_rig_time(served: Live) -> None:
    """Each colour preview is 64x48, stamped and logged at a recorded frame's rig time, and is that frame's image
    averaged down (INTER_AREA) exactly."""
    recorded = _recorded(served.out, "cam", "color")
    previews = served.of("/cam/color/image")
    assert len(previews) >= 10
    for m in previews:
        msg = RawImage.FromString(m.payload)
        assert (msg.width, msg.height, msg.encoding, msg.frame_id) == (64, 48, "bgr8", "cam/color")
        assert sc.timestamp_ns(msg) == m.log_time_ns
        assert m.log_time_ns in recorded, "a preview of a frame the recording does not hold"
        expected = cv2.resize(recorded[m.log_time_ns], (64, 48), interpolation=cv2.INTER_AREA)
        assert np.array_equal(sc.image_array(msg), expected)


def test_a_depth_preview_holds_only_measured_depths(served: Live) -> None:
    """A depth preview (16UC1, 64x48) takes its values from the recorded depth image (never an average of them)."""
    recorded = _recorded(served.out, "rs", "depth")
    previews = served.of("/rs/depth/image")
    assert previews
    for m in previews:
        msg = RawImage.FromString(m.payload)
        assert (msg.width, msg.height, msg.encoding) == (64, 48, "16UC1")
        depth = sc.image_array(msg)
        assert np.isin(depth, recorded[m.log_time_ns]).all()
        assert len(np.unique(depth)) > 10  # a scene, not a blank


def test_previews_come_at_most_at_the_live_rate_and_every_taken_one_is_accounted_for(served: Live) -> None:
    """No two previews of a stream fall in one 1/--live-fps slot of rig time; previews sent = taken - replaced."""
    period_ns = round(1e9 / LIVE_FPS)
    for key in ("cam/color", "rs/depth"):
        times = [m.log_time_ns for m in served.of(f"/{key}/image")]
        assert len({t // period_ns for t in times}) == len(times)
        assert len(times) == served.feed.taken[key] - served.feed.replaced[key]
        assert served.feed.taken["rs/color"] == 0  # nobody watched it: nothing was taken


def test_the_calibration_comes_at_the_previews_size(served: Live) -> None:
    """camera_info comes with each preview, its K and size scaled to the preview (0.4 of the 160x120 render)."""
    with open_recording(served.out) as rec:
        full = rec.intrinsics("cam", "color")
    assert full is not None
    infos = served.of("/cam/color/camera_info")
    assert {m.log_time_ns for m in infos} == {m.log_time_ns for m in served.of("/cam/color/image")}
    info = CameraCalibration.FromString(infos[0].payload)
    assert (info.width, info.height, info.frame_id) == (64, 48, "cam/color")
    assert info.K[0] == pytest.approx(full.fx * 0.4) and info.K[4] == pytest.approx(full.fy * 0.4)
    assert info.K[2] == pytest.approx((full.cx + 0.5) * 0.4 - 0.5)


def test_the_status_shows_the_rigs_rate_and_the_captures_own_drop_counts(served: Live) -> None:
    """The last status: each stream near its 30 fps, and drops by reason equal to the recording's own statistics
    (the drop-burst's frames on cam/color, none elsewhere); PTP state per host."""
    statuses = [json.loads(m.payload) for m in served.of("/rigsync/live/status")]
    last = statuses[-1]
    assert last["framesets"] == served.result.framesets
    streams = {s["key"]: s for s in last["streams"]}
    with open_recording(served.out) as rec:
        stats = rec.metadata["rigsync.stats"]
    for key in KEYS:
        assert abs(streams[key]["fps"] - 30) <= 3, (key, streams[key]["fps"])
        recorded = {r: n for r, n in json.loads(stats[key])["dropped"].items() if r != "warmup" and n}
        assert streams[key]["dropped_by"] == recorded
        assert streams[key]["dropped"] == sum(recorded.values())
    assert streams["cam/color"]["dropped"] >= 3  # the 0.2 s burst at 30 fps
    assert [h["host"] for h in last["hosts"]] == [h.host for h in served.result.status.hosts]
    assert all(m.log_time_ns == json.loads(m.payload)["rig_time_ns"] for m in served.of("/rigsync/live/status"))


def test_every_status_holds_to_its_json_schema(served: Live) -> None:
    """Every status served validates against the strict schema the channel advertises (no field undeclared)."""
    validator = jsonschema.Draft202012Validator(STATUS_JSON_SCHEMA)
    statuses = [json.loads(m.payload) for m in served.of("/rigsync/live/status")]
    assert statuses and statuses[-1]["hosts"]
    for status in statuses:
        validator.validate(status)
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**statuses[-1], "streams": [{**statuses[-1]["streams"][0], "fsp": 30.0}]})


def test_the_framesets_are_the_recorded_ones(served: Live) -> None:
    """Every frameset served is one the recording holds, identical, at its rig time."""
    with open_recording(served.out) as rec:
        recorded = {fs.frameset_id: fs.to_json() for fs in rec.framesets()}
    served_sets = served.of("/rigsync/framesets")
    assert len(served_sets) >= 30
    for m in served_sets:
        fs = json.loads(m.payload)
        assert recorded[fs["frameset_id"]] == fs
        assert m.log_time_ns == fs["rig_time_ns"]


def _images(out: Path) -> list[tuple[str, str, int, int, bytes]]:
    with open_recording(out) as rec:
        return [(r.device, r.stream, r.seq, r.rig_time_ns, r.image.tobytes()) for r in rec.images_of(
            [tuple(k.split("/")) for k in KEYS])]  # type: ignore[misc]


WATCH_ALL = [f"/{k}/image" for k in KEYS] + ["/rigsync/live/status", "/rigsync/framesets"]
FULL_RATE = LiveOptions(port=0, fps=30, max_width=4096)  # every frame, full size: the most a client can ask


def test_a_client_that_never_reads_does_not_slow_the_capture(tmp_path: Path) -> None:
    """A client watching every camera at full size and rate that never reads (its queue overflows): the capture in
    real time still records every frame the simulator delivered (held to its truth), none lost to an overrun."""
    got = _capture_live(tmp_path, RIG, WATCH_ALL, read=False, live=FULL_RATE)
    assert got.sent > 2 * BACKLOG  # more than the client's queue holds: the server dropped for it
    ledger = held_to_truth(got.out)
    assert ledger.problems == []
    assert all(f.recorded is not None for f in ledger.frames if f.delivered and f.fate != "warmup")
    assert not [f for f in ledger.frames if f.fate == "overrun"]
    assert not {"host_overrun", "recorder_overrun"} & set(got.result.dropped)


def test_the_recording_is_the_same_with_a_stalled_client_as_without_the_live_view(tmp_path: Path) -> None:
    """The same (virtual-time) capture with a stalled client watching everything and with no live view at all
    records the same frames: same seq numbers, rig times and pixels."""
    got = _capture_live(tmp_path / "live", RIG + DROPS, WATCH_ALL, read=False, live=FULL_RATE, fast=True)
    assert got.sent > 0
    plain = tmp_path / "plain.mcap"
    with CaptureSession(build_plan(loads_rig(RIG + DROPS, "live.toml")),
                        CaptureOptions(out=plain, seconds=3.0, fast=True)) as session:
        session.run()
    assert _images(got.out) == _images(plain)
