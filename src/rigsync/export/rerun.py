"""A recording as a Rerun ``.rrd`` file: images, depth images, each camera's pinhole and pose, and the rig's
health (drops and clock error bounds) as scalar plots, on one ``rig_time`` timeline.

Entities: ``world`` (the rig's frame: metres, right-handed, Z up, as in the rig file), ``world/<device>`` (the
device's pose from the rig file's ``pose``, camera to world; a device without one has no transform),
``world/<device>/<stream>`` (its pinhole from the first ``camera_info``, OpenCV's camera frame: x right, y down,
z forward; and its images), ``framesets`` (per frameset: members, missing, spread), ``health/<device>/<stream>``
(per frame: ``error_bound_us``; per frameset that names the stream missing: ``missing``, the count so far) and
``health/ptp/<host>`` (each PTP sample's ``bound_us`` and ``offset_us``).

Timelines: ``rig_time`` (a timestamp: the message's rig time), ``seq`` (an image's frame counter) and
``frameset`` (a frameset's id). The file is read one chunk at a time (images in one pass, the small messages in
another) and written as it goes, so memory does not grow with the recording.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from rigsync.core.errors import RigsyncError
from rigsync.core.geometry import Pose, camera_to_world
from rigsync.record import FRAMES_TOPIC, FRAMESETS_TOPIC, RecordedImage, Recording

DEPTH_METER: dict[str, float] = {"16UC1": 1000.0, "32FC1": 1.0}
"""Depth encodings and their values per metre: docs/recording.md defines ``16UC1`` as millimetres and ``32FC1``
as metres (the channel's ``encoding`` metadata and each RawImage's ``encoding`` say which)."""

FLUSH_BYTES = 16 << 20
"""Image bytes logged between waits for Rerun's file writer to catch up (what the export holds at most)."""

_COLOR_MODEL = {"rgb8": "RGB", "bgr8": "BGR", "rgba8": "RGBA", "bgra8": "BGRA", "mono8": "L", "8UC1": "L",
                "mono16": "L"}
_PTP_PREFIX = "/rigsync/ptp/"


@dataclass(frozen=True, slots=True)
class RerunExport:
    """What an export wrote."""

    images: int
    depth_images: int
    pinholes: int
    posed_devices: int
    framesets: int
    poses_unread: str = ""
    """Why no pose was exported although the recording embeds a rig file (it no longer loads), else empty."""


def _rerun() -> Any:
    try:
        import rerun
    except ImportError:
        raise RigsyncError("the Rerun export needs the Python module 'rerun' (rerun-sdk), which is not installed: "
                           "pip install 'rigsync[rerun]'") from None
    return rerun


def _rig_poses(recording: Recording) -> tuple[dict[str, Pose], str]:
    """The device poses of the rig file the recording embeds, and why there are none if it does not load (the
    images are exported all the same)."""
    from rigsync.spec import loads_rig

    if not recording.rig_toml:
        return {}, ""
    try:
        rig = loads_rig(recording.rig_toml, recording.metadata.get("rigsync", {}).get("rig_path") or recording.path)
    except RigsyncError as err:
        return {}, f"the rig file the recording embeds does not load: {err}"
    return {d.id: d.pose for d in rig.devices if d.pose is not None}, ""


def _entity(device: str, stream: str) -> str:
    return f"world/{device}/{stream}"


class _Writer:
    """Logs a recording's parts to one Rerun recording stream."""

    def __init__(self, rr: Any, rec: Any) -> None:
        self.rr, self.rec = rr, rec

    def at(self, rig_time_ns: int, **sequences: int) -> None:
        self.rec.reset_time()
        self.rec.set_time("rig_time", timestamp=np.datetime64(rig_time_ns, "ns"))
        for name, value in sequences.items():
            self.rec.set_time(name, sequence=value)

    def scalar(self, entity: str, value: float) -> None:
        self.rec.log(entity, self.rr.Scalars(value))

    def image(self, image: RecordedImage) -> bool:
        """Log one image; True for a depth image."""
        rr, entity = self.rr, _entity(image.device, image.stream)
        meter = DEPTH_METER.get(image.encoding)
        if meter is not None:
            self.rec.log(entity, rr.DepthImage(image.image, meter=meter))
        elif image.encoding in ("yuyv", "uyvy"):  # Rerun has YUY2 (= yuyv); uyvy is yuyv with each byte pair swapped
            yuyv = image.image if image.encoding == "yuyv" else image.image[..., ::-1]
            h, w = image.image.shape[:2]
            self.rec.log(entity, rr.Image(bytes=np.ascontiguousarray(yuyv).tobytes(), width=w, height=h,
                                          pixel_format=rr.PixelFormat.YUY2))
        else:
            self.rec.log(entity, rr.Image(image.image, color_model=_COLOR_MODEL[image.encoding]))
        return meter is not None


def _static(w: _Writer, recording: Recording) -> tuple[int, int, str]:
    """The world frame, each posed device's transform and each stream's pinhole; ``(pinholes, posed, why no
    poses)``."""
    rr, rec = w.rr, w.rec
    rec.log("world", rr.ViewCoordinates.RIGHT_HAND_Z_UP, static=True)
    poses, unread = _rig_poses(recording)
    devices = {s.device for s in recording.streams}
    for device in sorted(devices & poses.keys()):
        rotation, translation = camera_to_world(poses[device])
        rec.log(f"world/{device}", rr.Transform3D(translation=translation, mat3x3=rotation), static=True)
    pinholes = 0
    for info in recording.streams:
        k = recording.intrinsics(info.device, info.stream)
        if k is None:
            continue
        rec.log(_entity(info.device, info.stream), rr.Pinhole(
            image_from_camera=[[k.fx, 0.0, k.cx], [0.0, k.fy, k.cy], [0.0, 0.0, 1.0]],
            resolution=[k.width, k.height], camera_xyz=rr.ViewCoordinates.RDF), static=True)
        pinholes += 1
    return pinholes, len(devices & poses.keys()), unread


def _health(w: _Writer, recording: Recording) -> int:
    """Framesets, per-stream missing counts and clock error bounds, PTP bounds; returns the framesets."""
    missing: Counter[tuple[str, str]] = Counter()
    framesets = 0
    ptp_topics = [t for t in recording.json_topics() if t.startswith(_PTP_PREFIX)]
    for topic, log_time_ns, p in recording.json_messages_of([FRAMES_TOPIC, FRAMESETS_TOPIC, *ptp_topics]):
        if topic == FRAMES_TOPIC:
            w.at(int(p["rig_time_ns"]), seq=int(p["seq"]))
            w.scalar(f"health/{p['device']}/{p['stream']}/error_bound_us", int(p["error_bound_ns"]) / 1000)
        elif topic == FRAMESETS_TOPIC:
            framesets += 1
            w.at(int(p["rig_time_ns"]), frameset=int(p["frameset_id"]))
            w.scalar("framesets/members", len(p["members"]))
            w.scalar("framesets/missing", len(p["missing"]))
            w.scalar("framesets/spread_us", int(p["spread_ns"]) / 1000)
            for m in p["missing"]:
                missing[(m["device"], m["stream"])] += 1
                w.scalar(f"health/{m['device']}/{m['stream']}/missing", missing[(m["device"], m["stream"])])
        else:
            w.at(log_time_ns)
            host = topic.removeprefix(_PTP_PREFIX)
            if p.get("bound_ns") is not None:
                w.scalar(f"health/ptp/{host}/bound_us", int(p["bound_ns"]) / 1000)
            if p.get("offset_ns") is not None:
                w.scalar(f"health/ptp/{host}/offset_us", int(p["offset_ns"]) / 1000)
    return framesets


def export_rerun(recording: Recording, out_path: str | os.PathLike[str]) -> RerunExport:
    """Write ``recording`` to ``out_path`` (``.rrd``). Raises :class:`RigsyncError` without rerun-sdk."""
    rr = _rerun()
    rec = rr.RecordingStream("rigsync")
    rec.set_log_time_enabled(False)
    rec.set_log_tick_enabled(False)
    try:
        rec.save(os.fspath(out_path))
    except RuntimeError as err:  # rerun-sdk's error for a file it cannot create
        raise RigsyncError(f"{os.fspath(out_path)}: cannot write the Rerun file ({err})") from None
    try:
        w = _Writer(rr, rec)
        pinholes, posed, unread = _static(w, recording)
        images = depth = pending_bytes = 0
        for image in recording.images_of((s.device, s.stream) for s in recording.streams):
            w.at(image.rig_time_ns, seq=image.seq)
            depth += w.image(image)
            images += 1
            pending_bytes += image.image.nbytes
            if pending_bytes >= FLUSH_BYTES:  # Rerun's writer thread queues without bound: wait for it
                rec.flush()
                pending_bytes = 0
        framesets = _health(w, recording)
    finally:
        rec.flush()
        rec.disconnect()
    return RerunExport(images, depth, pinholes, posed, framesets, unread)
