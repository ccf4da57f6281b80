"""``rigsync export REC.mcap --calibrated OUT.mcap``: the recording with its calibration, for Foxglove and Rerun.

The copy holds every schema, channel, metadata record and message of the source unchanged (same log and publish
times, sequences), written in log-time order (an ordered read of the source), except:

* a ``/tf`` channel (``foxglove.FrameTransform``, protobuf) with one transform per camera at the recording's
  first log time: parent ``rig``, child the camera's ``frame_id`` ``<device>/<stream>`` (what its images and
  camera_info name), ``translation`` and ``rotation`` = the camera's pose ``rig_from_camera`` (OpenCV camera
  frame, as Foxglove's camera frames are);
* each calibrated camera's ``camera_info`` (``foxglove.CameraCalibration``) with the calibration's intrinsics
  (``K``, ``P`` = ``[K | 0]``, ``D``, ``distortion_model``, size), timestamp and ``frame_id`` kept;
* a ``rigsync.calibration`` metadata record: where the poses came from and the calibration file's JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from foxglove_schemas_protobuf.CameraCalibration_pb2 import CameraCalibration
from foxglove_schemas_protobuf.FrameTransform_pb2 import FrameTransform
from mcap.reader import make_reader
from mcap.writer import Writer

from rigsync.core.errors import RigsyncError
from rigsync.export.cameras import ExportCamera, ExportCameras, quaternion_wxyz
from rigsync.record import Recording
from rigsync.record.schemas import camera_calibration, file_descriptor_set

TF_TOPIC = "/tf"
RIG_FRAME = "rig"
CALIBRATION_METADATA = "rigsync.calibration"


@dataclass(frozen=True, slots=True)
class CalibratedExport:
    """What the calibrated copy holds."""

    path: Path
    messages: int
    transforms: int
    camera_infos_updated: int


def frame_transform(cam: ExportCamera, log_time_ns: int) -> FrameTransform:
    """The ``rig`` -> ``<device>/<stream>`` transform of a camera's pose."""
    t = FrameTransform(parent_frame_id=RIG_FRAME, child_frame_id=cam.key)
    t.timestamp.seconds, t.timestamp.nanos = divmod(log_time_ns, 1_000_000_000)
    x, y, z = (float(v) for v in cam.rig_from_camera[:3, 3])
    t.translation.x, t.translation.y, t.translation.z = x, y, z
    qw, qx, qy, qz = quaternion_wxyz(cam.rig_from_camera[:3, :3])
    t.rotation.w, t.rotation.x, t.rotation.y, t.rotation.z = qw, qx, qy, qz
    return t


def check_source(recording: Recording) -> None:
    """Refuse a recording that was not closed properly (the copy is made from its index): :class:`RigsyncError`
    saying to recover it first. Called before anything is written."""
    if recording.recovered:
        raise RigsyncError(f"{recording.path}: was not closed properly (no summary), so --calibrated cannot copy it: "
                           f"run `rigsync recover {recording.path}` first and export the recovered file")


def write_calibrated(recording: Recording, out: Path, cameras: ExportCameras) -> CalibratedExport:
    """Write ``recording`` with ``cameras``' poses and calibrated intrinsics to ``out``."""
    check_source(recording)
    calibrated = {c.key for c in cameras.calibration.cameras}
    infos = {f"/{cam.key}/camera_info": cam for cam in cameras.cameras.values() if cam.key in calibrated}
    with open(recording.path, "rb") as src, open(out, "wb") as f:
        reader = make_reader(src)
        summary = reader.get_summary()
        if summary is None:
            raise RigsyncError(f"{recording.path}: has no summary (not closed properly): run `rigsync recover "
                               f"{recording.path}` first and export the recovered file")
        first_ns = summary.statistics.message_start_time if summary.statistics else 0
        w = Writer(f)
        w.start(profile=reader.get_header().profile, library="rigsync export --calibrated")
        for name, data in recording.metadata.items():
            w.add_metadata(name, data)
        w.add_metadata(CALIBRATION_METADATA, {"poses": cameras.source,
                                              "calibration": json.dumps(cameras.calibration.to_json())})
        schema_ids = {sid: w.register_schema(s.name, s.encoding, s.data) for sid, s in summary.schemas.items()}
        channel_ids = {cid: w.register_channel(c.topic, c.message_encoding, schema_ids.get(c.schema_id, 0),
                                               dict(c.metadata)) for cid, c in summary.channels.items()}
        tf_schema = w.register_schema("foxglove.FrameTransform", "protobuf",
                                      file_descriptor_set(FrameTransform.DESCRIPTOR.file))
        tf = w.register_channel(TF_TOPIC, "protobuf", tf_schema)
        for cam in cameras.cameras.values():
            w.add_message(tf, first_ns, frame_transform(cam, first_ns).SerializeToString(), first_ns)
        messages = updated = 0
        # An ordered read: a rigsync recording's file order; any overlapping chunks merged (mcap reads ahead by index).
        for _, channel, message in reader.iter_messages(log_time_order=True):
            payload = message.data
            if channel.topic in infos:
                payload = _recalibrated(payload, infos[channel.topic])
                updated += 1
            w.add_message(channel_ids[message.channel_id], message.log_time, payload, message.publish_time,
                          message.sequence)
            messages += 1
        w.finish()  # type: ignore[no-untyped-call]
    return CalibratedExport(out, messages, len(cameras.cameras), updated)


def _recalibrated(data: bytes, cam: ExportCamera) -> bytes:
    old = CameraCalibration.FromString(data)
    new = camera_calibration(cam.intrinsics, old.frame_id or cam.key)
    new.timestamp.CopyFrom(old.timestamp)
    return bytes(new.SerializeToString())
