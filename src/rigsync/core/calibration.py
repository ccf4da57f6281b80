"""A rig's calibration as a set: every camera's intrinsics and its pose in one rig frame (``rig-calibration.json``).

Frames: a camera frame is OpenCV's (x right, y down, z forward, metres); the rig frame is right-handed, metres. A
camera's pose is ``rig_from_camera``: ``x_rig = rotation @ x_cam + translation_m``. ``origin`` says what the rig frame
is: ``"rig-file"`` (the rig file's world frame, Z up) or a camera key (that camera's frame is the rig frame).

Written by ``rigsync calibrate``; read by the exports (nerfstudio, COLMAP, frames, PLY fusion) and by anything that
wants the rig's geometry. Validated at construction and on reading: a bad file names the file, the field, the value
and what is allowed.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from rigsync.core.errors import RigsyncError
from rigsync.core.intrinsics import Intrinsics

FORMAT: Final = "rigsync.rig-calibration"
VERSION: Final = 1
INTRINSICS_SOURCES: Final = ("factory", "solved", "rig-file")


class CalibrationFileError(RigsyncError):
    """A calibration file that cannot be read: names the file, the field, the value and what is allowed."""


def _bad(where: str, field_name: str, value: object, allowed: str) -> CalibrationFileError:
    return CalibrationFileError(f"{where}: {field_name} = {value!r}: {allowed}")


HELD_OUT_METHODS = ("leave-camera-out", "joint")


@dataclass(frozen=True, slots=True)
class CameraErrors:
    """Reprojection errors of one camera, pixels, on the framesets they were measured on."""

    rms_px: float
    p95_px: float
    points: int
    """Board corners the errors were measured on."""
    method: str = "leave-camera-out"
    """``leave-camera-out``: the board fitted from the other cameras only, projected into this one (measures the
    pose against the others); ``joint``: the board fitted from every camera that saw it, this one included (the
    usual test-set error; for a camera that never had enough support from the others)."""

    def __post_init__(self) -> None:
        if self.method not in HELD_OUT_METHODS:
            raise _bad("CameraErrors", "method", self.method, f"one of {', '.join(HELD_OUT_METHODS)}")


@dataclass(frozen=True, slots=True)
class CalibratedCamera:
    """One stream's calibration: intrinsics and its pose in the rig frame (``x_rig = rotation @ x_cam + t``)."""

    key: str
    """``<device>/<stream>``."""
    intrinsics: Intrinsics
    rotation: tuple[float, ...]
    """Row-major 3x3 rotation, camera frame to rig frame."""
    translation_m: tuple[float, float, float]
    """The camera's optical centre in the rig frame, metres."""
    intrinsics_source: str = "factory"
    """``factory`` (the recording's camera_info), ``solved`` (``--intrinsics solve``) or ``rig-file``."""
    views: int = 0
    """Framesets in which this camera saw the board and which the solution used."""
    held_out: CameraErrors | None = None
    """Reprojection errors on the held-out framesets (None: the camera saw the board in none of them)."""

    def __post_init__(self) -> None:
        if self.key.count("/") != 1 or not all(self.key.split("/")):
            raise _bad("CalibratedCamera", "key", self.key, "must be <device>/<stream>")
        if len(self.rotation) != 9 or not all(math.isfinite(v) for v in self.rotation):
            raise _bad(self.key, "rotation", self.rotation, "must be 9 finite numbers (row-major 3x3)")
        r = self.rotation
        rows = [r[0:3], r[3:6], r[6:9]]
        for i in range(3):
            for j in range(3):
                dot = sum(a * b for a, b in zip(rows[i], rows[j], strict=True))
                if abs(dot - (1.0 if i == j else 0.0)) > 1e-6:
                    raise _bad(self.key, "rotation", self.rotation, "must be orthonormal (a rotation)")
        det = (r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6])
               + r[2] * (r[3] * r[7] - r[4] * r[6]))
        if det < 0:
            raise _bad(self.key, "rotation", self.rotation, "must have determinant +1 (not a reflection)")
        if len(self.translation_m) != 3 or not all(math.isfinite(v) for v in self.translation_m):
            raise _bad(self.key, "translation_m", self.translation_m, "must be 3 finite numbers, metres")
        if self.intrinsics_source not in INTRINSICS_SOURCES:
            raise _bad(self.key, "intrinsics_source", self.intrinsics_source,
                       f"allowed: {', '.join(INTRINSICS_SOURCES)}")

    @property
    def device(self) -> str:
        return self.key.split("/")[0]

    @property
    def stream(self) -> str:
        return self.key.split("/")[1]


@dataclass(frozen=True, slots=True)
class RigCalibration:
    """Every calibrated camera of a rig in one rig frame, with how the solution was reached."""

    cameras: tuple[CalibratedCamera, ...]
    origin: str = "rig-file"
    """``rig-file`` (the rig file's world frame) or the key of the camera whose frame is the rig frame."""
    board: str = ""
    """The board's name (or file) the solution used."""
    recording: str = ""
    """The recording it was solved from."""
    framesets_used: tuple[int, ...] = ()
    framesets_held_out: tuple[int, ...] = ()
    pair_views: Mapping[str, int] = field(default_factory=dict)
    """Framesets in which both cameras of a pair saw the board, keyed ``<key a> <key b>``."""
    disconnected: Mapping[str, str] = field(default_factory=dict)
    """Cameras left out of the solution (not in ``cameras``), each with the reason and what would bring it in
    (``"cam-c/color": "cam-c/color shares only 2 board views with the others (needs 8): show the board to ..."``)."""

    def __post_init__(self) -> None:
        keys = [c.key for c in self.cameras]
        if len(set(keys)) != len(keys):
            raise _bad("RigCalibration", "cameras", keys, "each <device>/<stream> once")
        if self.origin != "rig-file" and self.origin not in keys:
            raise _bad("RigCalibration", "origin", self.origin, f"'rig-file' or one of the cameras: {', '.join(keys)}")
        if both := sorted(set(keys) & set(self.disconnected)):
            raise _bad("RigCalibration", "disconnected", both, "only cameras that are not calibrated")

    def camera(self, key: str) -> CalibratedCamera:
        for c in self.cameras:
            if c.key == key:
                return c
        raise KeyError(f"{key!r} is not calibrated (calibrated: {', '.join(c.key for c in self.cameras)})")

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "version": VERSION, "units": "m", "origin": self.origin, "board": self.board,
            "recording": self.recording, "framesets_used": list(self.framesets_used),
            "framesets_held_out": list(self.framesets_held_out), "pair_views": dict(self.pair_views),
            "disconnected": dict(self.disconnected),
            "cameras": [_camera_json(c) for c in self.cameras],
        }

    def save(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, indent=2)
            f.write("\n")

    @classmethod
    def from_json(cls, data: Any, where: str) -> RigCalibration:
        """From :meth:`to_json`'s form; ``where`` (the file) names the place in errors."""
        if not isinstance(data, dict):
            raise _bad(where, "(top level)", type(data).__name__, "must be a JSON object")
        if data.get("format") != FORMAT:
            raise _bad(where, "format", data.get("format"), f"must be {FORMAT!r}")
        if data.get("version") != VERSION:
            raise _bad(where, "version", data.get("version"), f"this rigsync reads version {VERSION}")
        if data.get("units") != "m":
            raise _bad(where, "units", data.get("units"), "must be 'm'")
        cams = data.get("cameras")
        if not isinstance(cams, list) or not cams:
            raise _bad(where, "cameras", cams, "must be a non-empty list")
        try:
            return cls(
                cameras=tuple(_camera_from_json(c, f"{where}: cameras[{i}]") for i, c in enumerate(cams)),
                origin=str(data.get("origin", "rig-file")), board=str(data.get("board", "")),
                recording=str(data.get("recording", "")),
                framesets_used=tuple(int(v) for v in data.get("framesets_used", ())),
                framesets_held_out=tuple(int(v) for v in data.get("framesets_held_out", ())),
                pair_views={str(k): int(v) for k, v in dict(data.get("pair_views", {})).items()},
                disconnected=_left_out(data.get("disconnected", {}), where),
            )
        except CalibrationFileError as exc:
            msg = str(exc).removeprefix("RigCalibration: ")
            raise CalibrationFileError(msg if msg.startswith(where) else f"{where}: {msg}") from None
        except (TypeError, ValueError) as exc:
            raise CalibrationFileError(f"{where}: {exc}") from None


def load_calibration(path: str | os.PathLike[str]) -> RigCalibration:
    """Read a ``rig-calibration.json``; :class:`CalibrationFileError` (naming the file) if it is not one."""
    where = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except OSError as exc:
        raise CalibrationFileError(f"{where}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise CalibrationFileError(f"{where}: not JSON: {exc}") from None
    return RigCalibration.from_json(data, where)


def _left_out(v: Any, where: str) -> dict[str, str]:
    if not isinstance(v, dict) or not all(isinstance(r, str) for r in v.values()):
        raise _bad(where, "disconnected", v, "an object of camera key -> the reason it was left out")
    return {str(k): r for k, r in v.items()}


def _camera_json(c: CalibratedCamera) -> dict[str, Any]:
    k = c.intrinsics
    return {
        "key": c.key, "width": k.width, "height": k.height, "fx": k.fx, "fy": k.fy, "cx": k.cx, "cy": k.cy,
        "distortion_model": k.distortion_model, "distortion": list(k.distortion),
        "intrinsics_source": c.intrinsics_source, "rotation": list(c.rotation),
        "translation_m": list(c.translation_m), "views": c.views,
        "held_out": None if c.held_out is None else
        {"rms_px": c.held_out.rms_px, "p95_px": c.held_out.p95_px, "points": c.held_out.points,
         "method": c.held_out.method},
    }


def _camera_from_json(d: Any, where: str) -> CalibratedCamera:
    if not isinstance(d, dict):
        raise _bad(where, "(camera)", type(d).__name__, "must be a JSON object")
    missing = [f for f in ("key", "width", "height", "fx", "fy", "cx", "cy", "rotation", "translation_m") if f not in d]
    if missing:
        raise _bad(where, "fields", sorted(d), f"missing {', '.join(missing)}")
    held = d.get("held_out")
    intrinsics = Intrinsics(
        width=int(d["width"]), height=int(d["height"]), fx=float(d["fx"]), fy=float(d["fy"]), cx=float(d["cx"]),
        cy=float(d["cy"]), distortion_model=str(d.get("distortion_model", "plumb_bob")),
        distortion=tuple(float(v) for v in d.get("distortion", (0.0,) * 5)),
    )
    try:
        return CalibratedCamera(
            key=str(d["key"]), intrinsics=intrinsics, rotation=tuple(float(v) for v in d["rotation"]),
            translation_m=_vec3(d["translation_m"], where),
            intrinsics_source=str(d.get("intrinsics_source", "factory")),
            views=int(d.get("views", 0)),
            held_out=None if held is None else CameraErrors(float(held["rms_px"]), float(held["p95_px"]),
                                                           int(held["points"]),
                                                           str(held.get("method", "leave-camera-out"))),
        )
    except CalibrationFileError as exc:
        raise CalibrationFileError(f"{where}: {exc}") from None


def _vec3(v: Sequence[Any], where: str) -> tuple[float, float, float]:
    if len(v) != 3:
        raise _bad(where, "translation_m", v, "must be 3 numbers, metres")
    return (float(v[0]), float(v[1]), float(v[2]))
