"""``rigsync export --ros2`` and ``capture --profile ros2``: a ROS 2 bag that rosbags (a reader independent of
rigsync and of mcap-ros2-support) opens and decodes, whose pixels and stamps are the recording's."""

from __future__ import annotations

import struct
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcap.reader import make_reader

pytest.importorskip("mcap_ros2", reason="the ros2 extra (mcap-ros2-support) is not installed")
pytest.importorskip("rosbags", reason="rosbags (the ros2 extra's test reader) is not installed")

from rosbags.highlevel import AnyReader
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from rigsync.cli.main import main
from rigsync.core.errors import RigsyncError
from rigsync.export import ros2_msgs
from rigsync.export.ros2_names import ros_token, stream_names, topic_problem
from rigsync.record import open_recording

RIG = """
[rig]
name = "ros2-export"

[sim]
seed = 7

[[hosts]]
name = "capture-1"
usb_controllers = [{ name = "mb0" }, { name = "pcie0" }]

[[devices]]
id = "cam-0"
model = "realsense-d435"
serial = "827312070001"
host = "capture-1"
connection = "usb:mb0"
pose = { position = [2.5, 0.0, 1.4], look_at = [0.0, 0.0, 1.0] }
streams = [
  { kind = "depth", width = 424, height = 240, fps = 30, exposure_us = 8000 },
  { kind = "color", width = 424, height = 240, fps = 30, format = "rgb8" },
  { kind = "ir", width = 424, height = 240, fps = 30 },
]

[[devices]]
id = "2nd.cam"
model = "realsense-d435"
serial = "827312070002"
host = "capture-1"
connection = "usb:pcie0"
pose = { position = [0.0, 2.5, 1.4], look_at = [0.0, 0.0, 1.0] }
streams = [
  { kind = "depth", width = 424, height = 240, fps = 30, exposure_us = 8000 },
  { kind = "color", width = 424, height = 240, fps = 30, format = "rgb8" },
]
"""
TOPICS = {("cam-0", "depth"): "/cam_0/depth", ("cam-0", "color"): "/cam_0/color", ("cam-0", "ir"): "/cam_0/ir",
          ("2nd.cam", "depth"): "/n2nd_cam/depth", ("2nd.cam", "color"): "/n2nd_cam/color"}


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One simulated second of a rig whose device ids ROS does not allow, captured with ``--profile ros2``."""
    folder = tmp_path_factory.mktemp("ros2")
    (folder / "rig.toml").write_text(RIG)
    out = folder / "take.mcap"
    assert main(["capture", str(folder / "rig.toml"), "--seconds", "1", "--fast", "--quiet", "--out", str(out),
                 "--profile", "ros2"]) == 0
    return out


def _stamp_ns(msg: Any) -> int:
    return int(msg.header.stamp.sec) * 1_000_000_000 + int(msg.header.stamp.nanosec)


def _read(path: Path) -> dict[str, list[tuple[int, Any]]]:
    """Every message of the bag decoded by rosbags, by topic: ``(log_time, message)``."""
    out: dict[str, list[tuple[int, Any]]] = {}
    with AnyReader([path]) as reader:
        for connection, log_time, raw in reader.messages():
            out.setdefault(connection.topic, []).append((log_time, reader.deserialize(raw, connection.msgtype)))
    return out


def test_rosbags_decodes_every_image_and_camera_info_with_the_recordings_pixels(captured: Path) -> None:
    """Every Image and CameraInfo decodes; pixels, encoding, size, stamp and optical frame are the source's."""
    bag = _read(captured.with_name("take.ros2.mcap"))
    with open_recording(captured) as rec:
        source = {(i.device, i.stream, i.rig_time_ns): i for i in rec.images_of(TOPICS)}
        intrinsics = {key: rec.intrinsics(*key) for key in TOPICS}
    seen = 0
    for (device, stream), namespace in TOPICS.items():
        images, infos = bag[f"{namespace}/image_raw"], bag[f"{namespace}/camera_info"]
        assert len(images) == len(infos) == sum(1 for k in source if k[:2] == (device, stream)) > 10
        for (log_time, img), (_, info) in zip(images, infos, strict=True):
            src = source[(device, stream, _stamp_ns(img))]
            assert log_time == _stamp_ns(img) == _stamp_ns(info) == src.rig_time_ns
            assert img.header.frame_id == info.header.frame_id == f"{namespace[1:]}_optical_frame"
            assert (img.height, img.width, img.is_bigendian) == (*src.image.shape[:2], 0)
            assert img.encoding == src.encoding == {"depth": "16UC1", "color": "rgb8", "ir": "mono8"}[stream]
            assert img.step == src.image.strides[0] and img.data.tobytes() == src.image.tobytes()
            k = intrinsics[(device, stream)]
            assert k is not None and (info.width, info.height) == (k.width, k.height)
            assert list(info.k) == [k.fx, 0.0, k.cx, 0.0, k.fy, k.cy, 0.0, 0.0, 1.0]
            assert info.distortion_model == k.distortion_model and tuple(info.d) == k.distortion
            assert list(info.r) == [1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0]
            seen += 1
    assert seen == len(source)
    depth = next(i for k, i in source.items() if k[1] == "depth")
    assert depth.image.dtype == np.uint16 and depth.image.max() > 255  # millimetres, not an 8-bit image


def test_stamps_are_the_recordings_and_within_their_bound_of_the_simulators_truth(captured: Path) -> None:
    """FrameStamp messages carry each frame's rig time to the ns, within its error bound of the true exposure start;
    each Frameset member's stamp is an Image's stamp on the topic it names."""
    bag = _read(captured.with_name("take.ros2.mcap"))
    with open_recording(captured) as rec:
        truth = {(t.device, t.stream, t.seq): t.exposure_start_ns for t in rec.truth()}
        frames = {(f.device, f.stream, f.seq): f for f in rec.frames()}
        framesets = list(rec.framesets())
    stamps = [m for _, m in bag["/rigsync/frames"]]
    assert len(stamps) == len(frames)
    for m in stamps:
        f = frames[(m.device, m.stream, m.seq)]
        assert _stamp_ns(m) == f.rig_time_ns and m.error_bound_ns == f.error_bound_ns
        assert (m.device_ts_ns, m.host_rx_ns, m.locked) == (f.device_ts_ns, f.host_rx_ns, f.locked)
        assert m.exposure_ns == (-1 if f.exposure_ns is None else f.exposure_ns)
        assert list(m.time_flags) == list(f.time_flags) and list(m.flags) == list(f.flags)
        assert m.image_topic == TOPICS[(m.device, m.stream)] + "/image_raw"
        assert abs(_stamp_ns(m) - truth[(m.device, m.stream, m.seq)]) <= m.error_bound_ns
    images = {(topic, _stamp_ns(m)) for topic, msgs in bag.items() if topic.endswith("/image_raw") for _, m in msgs}
    sets = [m for _, m in bag["/rigsync/framesets"]]
    assert [(s.frameset_id, _stamp_ns(s), s.spread_ns) for s in sets] == [
        (r.frameset_id, r.rig_time_ns, r.spread_ns) for r in framesets]
    for s, r in zip(sets, framesets, strict=True):
        assert [(m.device, m.stream, m.seq) for m in s.members] == [(m.device, m.stream, m.seq) for m in r.members]
        assert [(m.device, m.stream, m.reason) for m in s.missing] == [
            (m.device, m.stream, m.reason.value) for m in r.missing]
        for m in s.members:
            assert (m.image_topic, m.stamp.sec * 1_000_000_000 + m.stamp.nanosec) in images
    assert sum(len(s.members) for s in sets) > 20


def test_every_topic_is_a_legal_ros2_name_and_the_profile_is_ros2(captured: Path) -> None:
    """The bag's header profile is ros2, every channel is CDR with a ros2msg schema, every topic a legal ROS name."""
    with captured.with_name("take.ros2.mcap").open("rb") as f:
        reader = make_reader(f)
        assert reader.get_header().profile == "ros2"
        summary = reader.get_summary()
    assert summary is not None
    topics = {c.topic for c in summary.channels.values()}
    assert topics == {f"{n}/{leaf}" for n in TOPICS.values() for leaf in ("image_raw", "camera_info")} | {
        "/rigsync/frames", "/rigsync/framesets"}
    assert all(topic_problem(t) is None for t in topics)
    assert {c.message_encoding for c in summary.channels.values()} == {"cdr"}
    assert {s.encoding for s in summary.schemas.values()} == {"ros2msg"}


def test_image_and_camera_info_are_the_standard_ros2_types() -> None:
    """Our Image and CameraInfo definitions hash (RIHS01) as ROS 2 Humble's own, so ROS 2 tools take them as theirs."""
    humble = get_typestore(Stores.ROS2_HUMBLE)
    for name in (ros2_msgs.IMAGE, ros2_msgs.CAMERA_INFO):
        ours = get_typestore(Stores.EMPTY)
        ours.register(get_types_from_msg(ros2_msgs.DEFINITIONS[name], name))
        assert ours.hash_rihs01(name) == humble.hash_rihs01(name)


def test_export_command_writes_the_same_bag_and_exports_a_crashed_recording(captured: Path, tmp_path: Path) -> None:
    """``rigsync export --ros2`` writes what the capture's profile wrote; a recording cut before its summary (a
    capture killed as it finished) exports what recovery keeps: every image, each with its camera_info."""
    out = tmp_path / "again.mcap"
    assert main(["export", str(captured), "--ros2", str(out)]) == 0
    assert out.read_bytes() == captured.with_name("take.ros2.mcap").read_bytes()
    cut = tmp_path / "cut.mcap"
    data = captured.read_bytes()
    (summary_start,) = struct.unpack_from("<Q", data, len(data) - 8 - 20)  # Footer: summary_start, offsets, crc
    cut.write_bytes(data[: summary_start - 1])
    with open_recording(cut) as rec:
        assert rec.recovered
        kept = Counter(f"/{s.device}/{s.stream}" for s in rec.streams for _ in rec.images(s.device, s.stream))
    assert main(["export", str(cut), "--ros2", str(tmp_path / "cut.ros2.mcap")]) == 0
    bag = _read(tmp_path / "cut.ros2.mcap")
    assert sum(kept.values()) > 50
    for (device, stream), namespace in TOPICS.items():
        assert len(bag.get(f"{namespace}/image_raw", [])) == len(bag.get(f"{namespace}/camera_info", [])) == kept[
            f"/{device}/{stream}"]


def test_ros_tokens_follow_the_documented_mapping() -> None:
    """Characters outside [A-Za-z0-9_] become '_', runs collapse, edges are trimmed, a leading digit gets 'n'."""
    assert [ros_token(n) for n in ("cam-0", "2nd.cam", "a--b__c", "-x-", "Cam_L", "", "---", "42")] == [
        "cam_0", "n2nd_cam", "a_b_c", "x", "Cam_L", "n", "n", "n42"]
    for name in ("cam-0", "2nd.cam", "a--b__c", "-x-", "", "ü/ß", "0"):
        assert topic_problem(f"/{ros_token(name)}/color/image_raw") is None


@pytest.mark.parametrize(("topic", "problem"), [
    ("cam/color", "does not start with '/'"), ("/cam-0/color", "token 'cam-0' is not"),
    ("/0cam/color", "token '0cam' is not"), ("/a__b/color", "token 'a__b' has '__'"),
    ("/a//b", "empty token"), ("/a/b/", "empty token")])
def test_topic_check_refuses_what_ros2_refuses(topic: str, problem: str) -> None:
    """The ROS 2 name check the tests rely on refuses '-', a leading digit, '__', '//' and a trailing '/'."""
    assert problem in (topic_problem(topic) or "")


def test_ids_that_map_to_the_same_ros_names_are_an_error_naming_both() -> None:
    """Two devices whose ids map to one ROS namespace are refused, naming both devices."""
    with pytest.raises(RigsyncError, match=r"devices 'cam-0' \(stream 'color'\) and 'cam.0' \(stream 'color'\) "
                                           r"both map to the ROS 2 topic namespace /cam_0/color"):
        stream_names([("cam-0", "color"), ("cam-0", "depth"), ("cam.0", "color")])


def _exit(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as stop:
        return int(stop.code or 0)


def test_bad_export_input_gets_a_clear_error(captured: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A missing or non-MCAP source, an existing, non-.mcap or source output, or no format: exit 2, one clear line."""
    (tmp_path / "rig.toml").write_text(RIG)
    (tmp_path / "exists.mcap").write_bytes(b"")
    cases = [
        (["export", str(tmp_path / "nope.mcap"), "--ros2", str(tmp_path / "o.mcap")],
         f"{tmp_path / 'nope.mcap'}: cannot read: No such file or directory"),
        (["export", str(tmp_path / "rig.toml"), "--ros2", str(tmp_path / "o.mcap")],
         f"{tmp_path / 'rig.toml'}: not an MCAP file (bad magic)"),
        (["export", str(captured), "--ros2", str(tmp_path / "exists.mcap")],
         f'--ros2 = "{tmp_path / "exists.mcap"}": exists (allowed: a new file name, or --overwrite to replace it)'),
        (["export", str(captured), "--ros2", str(tmp_path / "o.bag")], f'--ros2 = "{tmp_path / "o.bag"}": is not a '
         ".mcap file name"),
        (["export", str(captured), "--ros2", str(captured), "--overwrite"], "an export never replaces it"),
        (["export", str(captured), "--ros2", str(tmp_path / "no" / "o.mcap")], "does not exist"),
        (["export", str(captured)], "rigsync export: no output format given (allowed: --ros2 OUT.mcap, --rerun "
         "OUT.rrd, --frames/--nerfstudio/--colmap/--ply DIR, --calibrated OUT.mcap)"),
    ]
    for argv, expected in cases:
        assert _exit(argv) == 2, argv
        err = capsys.readouterr().err
        assert expected in " ".join(err.split()) and "Traceback" not in err, err
    assert not (tmp_path / "o.mcap").exists() and (tmp_path / "exists.mcap").read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.mcap", "rig.toml"]  # no .part left behind


def test_a_stamp_beyond_ros_time_is_an_error_naming_it() -> None:
    """builtin_interfaces/Time holds int32 seconds: the last second fits to the ns, the next is refused, named."""
    from rigsync.export.ros2 import ros_time

    assert ros_time(2**31 * 1_000_000_000 - 1, "x") == {"sec": 2**31 - 1, "nanosec": 999_999_999}
    assert ros_time(-1, "x") == {"sec": -1, "nanosec": 999_999_999}
    with pytest.raises(RigsyncError, match=r"the /a/b/image message: time 2147483648000000000 ns does not fit "
                                           r"builtin_interfaces/Time \(int32 seconds"):
        ros_time(2**31 * 1_000_000_000, "the /a/b/image message")


def _foreign(path: Path, image: bytes, frameset: bytes) -> None:
    """A file with rigsync's metadata and topics holding the given image and frameset payloads."""
    from mcap.writer import Writer

    with path.open("wb") as f:
        w = Writer(f)
        w.start()
        w.add_metadata("rigsync", {"rig_toml": "", "version": "0"})
        image_schema = w.register_schema("foxglove.RawImage", "protobuf", b"")
        json_schema = w.register_schema("rigsync.Frameset", "jsonschema", b"{}")
        cam = w.register_channel("/cam/color/image", "protobuf", image_schema, {"device": "cam", "stream": "color"})
        sets = w.register_channel("/rigsync/framesets", "json", json_schema)
        w.add_message(cam, log_time=5, data=image, publish_time=5)
        w.add_message(sets, log_time=6, data=frameset, publish_time=6)
        w.finish()


@pytest.mark.parametrize(("image", "frameset", "expected"), [
    (dict(encoding="rgb8", step=12, data=b"\0" * 10), b'{"frameset_id": 0}', "the /cam/color/image message at log "
     "time 5 is damaged or not rigsync's (ValueError: 10 data bytes do not hold 2 rows of step 12)"),
    (dict(encoding="weird", step=12, data=b"\0" * 24), b"{}", "the /cam/color/image message at log time 5: image "
     "encoding 'weird' is not supported (allowed: "),
    (dict(encoding="mono8", step=4, data=b"\0" * 8), b'{"frameset_id": 0}', "the /rigsync/framesets message at log "
     "time 6 is damaged or not rigsync's (missing field 'members')"),
])
def test_a_damaged_message_is_an_error_naming_the_file_topic_and_time(
        tmp_path: Path, image: dict[str, Any], frameset: bytes, expected: str) -> None:
    """An image whose bytes do not fill its rows, an unknown encoding, a frameset missing a field: an error naming the
    file, topic, log time and what is wrong; no output is left."""
    from foxglove_schemas_protobuf.RawImage_pb2 import RawImage

    from rigsync.core.errors import RecordingError
    from rigsync.export.ros2 import export_ros2

    source = tmp_path / "foreign.mcap"
    _foreign(source, RawImage(width=4, height=2, **image).SerializeToString(), frameset)
    with pytest.raises(RecordingError) as caught:
        export_ros2(source, tmp_path / "out.mcap")
    assert str(caught.value).startswith(f"{source}: ") and expected in str(caught.value), str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["foreign.mcap"]
