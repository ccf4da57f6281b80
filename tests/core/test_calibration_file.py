"""rig-calibration.json: a rig's calibration round-trips exactly, and every malformed file is refused naming the
file, the field, the value and what is allowed."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from rigsync.core.calibration import (
    CalibratedCamera,
    CalibrationFileError,
    CameraErrors,
    RigCalibration,
    load_calibration,
)
from rigsync.core.intrinsics import Intrinsics

C, S = math.cos(0.3), math.sin(0.3)
ROT_Z = (C, -S, 0.0, S, C, 0.0, 0.0, 0.0, 1.0)


def _rig() -> RigCalibration:
    k = Intrinsics(320, 240, 250.5, 251.0, 159.5, 119.25, distortion=(0.01, -0.02, 0.0, 0.001, 0.003))
    a = CalibratedCamera("k0/color", k, (1.0, 0, 0, 0, 1.0, 0, 0, 0, 1.0), (0.0, 0.0, 0.0), views=40,
                         held_out=CameraErrors(0.21, 0.4, 350, "joint"))
    b = CalibratedCamera("k1/color", k, ROT_Z, (1.5, -0.25, 0.125), intrinsics_source="solved", views=31)
    return RigCalibration((a, b), origin="k0/color", board="sim", recording="take.mcap", framesets_used=(1, 2, 5),
                          framesets_held_out=(3,), pair_views={"k0/color k1/color": 28},
                          disconnected={"k2/color": "k2/color shares no board view with the others: show the board "
                                                    "to k2/color and k1/color at once"})


def test_a_calibration_round_trips_through_its_file(tmp_path: Path) -> None:
    """save then load gives back an equal object, every float bit for bit."""
    rig = _rig()
    rig.save(tmp_path / "cal.json")
    assert load_calibration(tmp_path / "cal.json") == rig
    assert rig.camera("k1/color").device == "k1" and rig.camera("k1/color").stream == "color"


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d.update(format="x"), "cal.json: format = 'x': must be 'rigsync.rig-calibration'"),
    (lambda d: d.update(version=2), "cal.json: version = 2: this rigsync reads version 1"),
    (lambda d: d.update(units="mm"), "cal.json: units = 'mm': must be 'm'"),
    (lambda d: d.update(cameras=[]), "cal.json: cameras = []: must be a non-empty list"),
    (lambda d: d["cameras"][1].update(rotation=[1, 0, 0, 0, 1, 0, 0, 0, -1]),
     "cal.json: cameras[1]: k1/color: rotation = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0): must have "
     "determinant +1 (not a reflection)"),
    (lambda d: d["cameras"][1].update(rotation=[2, 0, 0, 0, 1, 0, 0, 0, 1]),
     "must be orthonormal (a rotation)"),
    (lambda d: d["cameras"][0].update(translation_m=[0, 0]), "cal.json: cameras[0]: translation_m = [0, 0]: must be 3"),
    (lambda d: d["cameras"][0].pop("fx"), "cal.json: cameras[0]: fields = "),
    (lambda d: d["cameras"][0].update(intrinsics_source="guess"),
     "intrinsics_source = 'guess': allowed: factory, solved, rig-file"),
    (lambda d: d.update(origin="k9/color"), "cal.json: origin = 'k9/color': 'rig-file' or one of the cameras: "
                                            "k0/color, k1/color"),
    (lambda d: d["cameras"][0]["held_out"].update(method="guess"),
     "cal.json: cameras[0]: CameraErrors: method = 'guess': one of leave-camera-out, joint"),
    (lambda d: d.update(disconnected=["k2/color"]),
     "cal.json: disconnected = ['k2/color']: an object of camera key -> the reason it was left out"),
    (lambda d: d.update(disconnected={"k0/color": "seen"}),
     "cal.json: disconnected = ['k0/color']: only cameras that are not calibrated"),
    (lambda d: d["cameras"][1].update(key="k0/color"),
     "cameras = ['k0/color', 'k0/color']: each <device>/<stream> once"),
])
def test_a_malformed_file_is_refused_naming_the_field(tmp_path: Path, edit: Any, message: str) -> None:
    """Each malformed field gives a CalibrationFileError naming the file, the field, the value, what is allowed."""
    data = _rig().to_json()
    edit(data)
    (tmp_path / "cal.json").write_text(json.dumps(data))
    with pytest.raises(CalibrationFileError) as err:
        load_calibration(tmp_path / "cal.json")
    assert message in str(err.value)
    assert str(err.value).startswith(str(tmp_path / "cal.json"))


def test_a_file_that_is_not_json_is_refused(tmp_path: Path) -> None:
    """Not JSON, or missing: the error names the file."""
    (tmp_path / "cal.json").write_text("{")
    with pytest.raises(CalibrationFileError, match=r"cal\.json: not JSON"):
        load_calibration(tmp_path / "cal.json")
    with pytest.raises(CalibrationFileError, match=r"nope\.json: cannot read"):
        load_calibration(tmp_path / "nope.json")
