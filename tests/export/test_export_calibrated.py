"""``rigsync export --calibrated OUT.mcap``: the recording with a foxglove.FrameTransform per camera and calibrated
camera_info, read back with the mcap library and rigsync's reader: transforms equal the calibration exactly,
every other message is unchanged and in log-time order, and Rerun converts it."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from foxglove_schemas_protobuf.CameraCalibration_pb2 import CameraCalibration
from foxglove_schemas_protobuf.FrameTransform_pb2 import FrameTransform
from mcap.reader import make_reader
from scipy.spatial.transform import Rotation
from tests.export.rig3d import rotated

from rigsync.cli.main import main
from rigsync.core.calibration import RigCalibration
from rigsync.export.cameras import rig_file_calibration
from rigsync.record import open_recording


def _messages(path: Path, *, ordered: bool = False) -> list[tuple[str, str, int, int, int, bytes]]:
    """Every message, in file order (or an ordered read's order): topic, schema, times, sequence, data."""
    with open(path, "rb") as f:
        reader = make_reader(f)
        return [(ch.topic, schema.name if schema else "", m.log_time, m.publish_time, m.sequence, m.data)
                for schema, ch, m in reader.iter_messages(log_time_order=ordered)]


@pytest.fixture(scope="module")
def calibrated(rig3d: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, RigCalibration]:
    """The rig exported with a calibration: k1 turned by 2 degrees and k0/color with other intrinsics."""
    tmp = tmp_path_factory.mktemp("calibrated")
    with open_recording(rig3d) as rec:
        cal = rotated(rig_file_calibration(rec), "k1", 2.0)
    cams = tuple(dataclasses.replace(c, intrinsics=dataclasses.replace(c.intrinsics, fx=33.25, cy=17.0,
                                                                       distortion=(0.01, 0.0, 0.0, 0.0, 0.0)))
                 if c.key == "k0/color" else c for c in cal.cameras)
    cal = RigCalibration(cameras=cams, origin="rig-file")
    cal.save(tmp / "cal.json")
    out = tmp / "take.cal.mcap"
    assert main(["export", str(rig3d), "--calibrated", str(out), "--calibration", str(tmp / "cal.json")]) == 0
    return out, cal


def test_transforms_are_the_calibration(calibrated: tuple[Path, RigCalibration]) -> None:
    """One /tf FrameTransform per camera, parent rig, child <device>/<stream>: rotation and translation equal the
    calibration's rig_from_camera."""
    out, cal = calibrated
    tfs = [(schema, FrameTransform.FromString(data)) for topic, schema, *_, data in _messages(out) if topic == "/tf"]
    assert sorted(t.child_frame_id for _, t in tfs) == sorted(c.key for c in cal.cameras)
    for schema, t in tfs:
        assert schema == "foxglove.FrameTransform" and t.parent_frame_id == "rig"
        cam = cal.camera(t.child_frame_id)
        assert (t.translation.x, t.translation.y, t.translation.z) == cam.translation_m
        r = Rotation.from_quat([t.rotation.x, t.rotation.y, t.rotation.z, t.rotation.w]).as_matrix()
        np.testing.assert_allclose(r, np.reshape(cam.rotation, (3, 3)), atol=1e-12)


def test_the_rest_is_the_recording_with_calibrated_camera_info(rig3d: Path,
                                                                calibrated: tuple[Path, RigCalibration]) -> None:
    """Every source message is copied with its times and sequence, the file in log-time order; camera_info holds the
    calibration's intrinsics (rigsync's reader reads them back); the frame ids are the transforms' children."""
    out, cal = calibrated
    source, copy = _messages(rig3d, ordered=True), _messages(out)
    rest = [m for m in copy if m[0] != "/tf"]
    assert len(rest) == len(source)
    times = [m[2] for m in copy]
    assert times == sorted(times)
    for a, b in zip(source, rest, strict=True):
        assert a[:5] == b[:5]
        if a[0].endswith("/camera_info"):
            old, new = CameraCalibration.FromString(a[5]), CameraCalibration.FromString(b[5])
            assert new.timestamp == old.timestamp and new.frame_id == old.frame_id
        else:
            assert a[5] == b[5]
    with open_recording(out) as rec, open_recording(rig3d) as src:
        assert rec.summary().framesets_total == src.summary().framesets_total
        assert ([(r, sorted(i)) for r, i in rec.framesets_with_images()]
                == [(r, sorted(i)) for r, i in src.framesets_with_images()])
        for c in cal.cameras:
            assert rec.intrinsics(c.device, c.stream) == c.intrinsics
        assert rec.intrinsics("k0", "color") != src.intrinsics("k0", "color")


def test_rerun_converts_it(calibrated: tuple[Path, RigCalibration], tmp_path: Path) -> None:
    """`rerun mcap convert` reads the calibrated recording (the transforms included) without error."""
    rerun = shutil.which("rerun")
    if rerun is None:
        pytest.skip("the rerun command is not installed (pip install 'rigsync[rerun]')")
    done = subprocess.run([rerun, "mcap", "convert", str(calibrated[0]), "-o", str(tmp_path / "take.rrd")],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "take.rrd").stat().st_size > 0


def test_a_camera_the_calibration_left_out_keeps_its_camera_info(rig3d: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """rigsync calibrate leaves out cameras it cannot pin down: --calibrated still writes the others' transforms,
    the left-out camera gets none and keeps its recorded camera_info, and the export says it was not placed."""
    with open_recording(rig3d) as rec:
        cal = rig_file_calibration(rec)
    RigCalibration(cameras=tuple(c for c in cal.cameras if c.key != "k1/color"), origin="rig-file").save(
        tmp_path / "cal.json")
    out = tmp_path / "take.cal.mcap"
    assert main(["export", str(rig3d), "--calibrated", str(out), "--calibration", str(tmp_path / "cal.json")]) == 0
    assert "k1/color: not placed: the recorded camera k1/color is not in it" in capsys.readouterr().out
    copy = _messages(out)
    children = sorted(FrameTransform.FromString(m[5]).child_frame_id for m in copy if m[0] == "/tf")
    assert children == sorted(c.key for c in cal.cameras if c.key != "k1/color")
    source = {m[:5]: m[5] for m in _messages(rig3d) if m[0] == "/k1/color/camera_info"}
    kept = {m[:5]: m[5] for m in copy if m[0] == "/k1/color/camera_info"}
    assert kept == source and len(kept) > 0
