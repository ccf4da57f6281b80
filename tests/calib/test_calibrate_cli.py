"""``rigsync calibrate`` on a simulated recording of a moving board, against the rig file's true poses."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from rigsync.calib import geometry as g
from rigsync.cli.main import main
from rigsync.core.calibration import load_calibration
from rigsync.spec import RigSpec, load_rig

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RIG = EXAMPLES / "calib_three.toml"


def _true_pose(rig: RigSpec, device: str) -> np.ndarray:
    pose = rig.device(device).pose
    assert pose is not None, device
    return g.camera_to_world(pose)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("calib") / "three.mcap"
    assert main(["capture", str(RIG), "--fast", "--seconds", "5", "--out", str(out), "--quiet"]) == 0
    return out


@pytest.fixture(scope="module")
def calibrated(recording: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("out")
    code = main(["calibrate", str(recording), "-o", str(d / "rig-calibration.json"), "--opencv", str(d / "cv"),
                 "--report", str(d / "report")])
    assert code in (0, 1)  # 1: a camera suspect (see test_held_out_rms_under_half_a_pixel)
    (d / "exit-code").write_text(str(code))
    return d


def test_poses_match_the_rig_file_within_2_mm(calibrated: Path) -> None:
    """Every camera within 2 mm (and 0.25 deg) of the rig file's pose, each with its held-out errors, at 320 px."""
    cal = load_calibration(calibrated / "rig-calibration.json")
    rig = load_rig(RIG)
    assert cal.origin == "rig-file" and len(cal.cameras) == 3 and not cal.disconnected
    for cam in cal.cameras:
        truth = _true_pose(rig, cam.device)
        assert np.linalg.norm(np.array(cam.translation_m) - truth[:3, 3]) < 0.002, cam.key
        assert g.angle_deg(np.array(cam.rotation).reshape(3, 3), truth[:3, :3]) < 0.25, cam.key
        assert cam.held_out is not None and cam.held_out.points > 50, cam
        assert cam.intrinsics.width == 320


def test_held_out_rms_under_half_a_pixel(calibrated: Path) -> None:
    """Every camera's held-out reprojection RMS is under 0.5 px (the issue's target at 320 px), so calibrate exits 0."""
    cal = load_calibration(calibrated / "rig-calibration.json")
    assert all(c.held_out is not None and c.held_out.rms_px < 0.5 for c in cal.cameras), cal.cameras
    assert (calibrated / "exit-code").read_text() == "0"
    assert set(cal.framesets_held_out).isdisjoint(cal.framesets_used)
    assert 0.1 <= len(cal.framesets_held_out) / (len(cal.framesets_used) + len(cal.framesets_held_out)) <= 0.2


def test_opencv_yaml_reads_back(calibrated: Path) -> None:
    """Each camera's OpenCV YAML reads back with cv2.FileStorage: K, distortion, size and pose as in the JSON."""
    cal = load_calibration(calibrated / "rig-calibration.json")
    for cam in cal.cameras:
        fs = cv2.FileStorage(str(calibrated / "cv" / (cam.key.replace("/", "_") + ".yaml")), cv2.FILE_STORAGE_READ)
        k = fs.getNode("camera_matrix").mat()
        assert k[0, 0] == pytest.approx(cam.intrinsics.fx) and k[1, 2] == pytest.approx(cam.intrinsics.cy)
        assert fs.getNode("distortion_coefficients").mat().shape == (1, 5)
        assert int(fs.getNode("image_width").real()) == cam.intrinsics.width
        assert np.allclose(fs.getNode("rig_from_camera_R").mat().reshape(-1), cam.rotation)
        assert np.allclose(fs.getNode("rig_from_camera_T").mat().reshape(-1), cam.translation_m)
        fs.release()


def test_the_picture_has_a_frustum_per_camera(calibrated: Path) -> None:
    """The report's PNG is written, and its figure draws one frustum per calibrated camera and the boards."""
    from rigsync.calib.picture import figure

    cal = load_calibration(calibrated / "rig-calibration.json")
    assert cv2.imread(str(calibrated / "report" / "rig.png")) is not None
    poses = {c.key: g.pose(np.array(c.rotation).reshape(3, 3), c.translation_m) for c in cal.cameras}
    fig = figure(poses, {c.key: c.intrinsics for c in cal.cameras}, np.zeros((4, 3)), "t")
    gids = [a.get_gid() for ax in fig.axes for a in ax.get_children() if a.get_gid()]
    assert sorted(x for x in gids if x.startswith("frustum:")) == sorted(f"frustum:{c.key}" for c in cal.cameras)
    assert "boards" in gids


@pytest.mark.parametrize(("args", "message"), [
    (["--board", "/nonexistent/board.toml"], "/nonexistent/board.toml: cannot read the board file"),
    (["--stream", "cam-z/color"], '--stream = "cam-z/color": not a colour or infrared stream'),
    (["--intrinsics", "factory", "--max-error", "0"], "--max-error = 0.0"),
    (["--origin", "cam-z/color"], '--origin = "cam-z/color": not a camera of the recording (allowed: rig-file, auto, '),
])
def test_bad_options_name_the_option(recording: Path, args: list[str], message: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A bad board file, stream or limit: exit 2 and one line naming the option and the value, no traceback."""
    assert main(["calibrate", str(recording), "-o", "/dev/null", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_solved_intrinsics_too_uncertain_are_left_out(recording: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """--intrinsics solve on calib_three (board at ~1.4 m, a third of the image, tilted ~30 deg): cam-c, which saw
    the board least (~35 images), has a focal length and principal point whose uncertainty would move its pose by
    more than 2 mm: left out, saying what to record (exit 1); cam-a and cam-b, solved, within 2 mm and 0.1 deg of the
    rig file."""
    out = tmp_path / "c.json"
    assert main(["calibrate", str(recording), "-o", str(out), "--intrinsics", "solve"]) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert re.search(r"cam-c/color: its solved intrinsics leave its pose uncertain by (\d+\.\d) mm and (\d\.\d\d) "
                     r"deg \(1 sigma; limits 2 mm, 0.1 deg\): focal length known to (\d\.\d\d)%", text), text
    assert ("Record the board closer (filling half the image or more), tilted 40-60 deg in turn towards each side, "
            "carried into every corner of the image") in text
    assert "use the factory intrinsics (--intrinsics factory)" in text
    cal = load_calibration(out)
    assert sorted(c.key for c in cal.cameras) == ["cam-a/color", "cam-b/color"]
    assert list(cal.disconnected) == ["cam-c/color"]
    assert cal.disconnected["cam-c/color"].startswith("cam-c/color: its solved intrinsics leave its pose uncertain")
    rig = load_rig(RIG)
    for cam in cal.cameras:
        truth = _true_pose(rig, cam.device)
        assert cam.intrinsics_source == "solved"
        assert np.linalg.norm(np.array(cam.translation_m) - truth[:3, 3]) < 0.002, cam.key
        assert g.angle_deg(np.array(cam.rotation).reshape(3, 3), truth[:3, :3]) < 0.1, cam.key


def test_not_a_recording_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A file that is not a recording: exit 2 naming the file."""
    bad = tmp_path / "x.mcap"
    bad.write_text("hello")
    assert main(["calibrate", str(bad)]) == 2
    assert f"{bad}: not an MCAP file" in capsys.readouterr().err


def _within_limits(cal_path: Path, rig_path: Path) -> dict[str, tuple[float, float, float]]:
    """Every written camera's (position error m, angle error deg, held-out RMS px or nan: not measured) against the
    rig file."""
    cal, rig = load_calibration(cal_path), load_rig(rig_path)
    out = {}
    for cam in cal.cameras:
        truth = g.camera_to_world(rig.device(cam.device).pose)
        out[cam.key] = (float(np.linalg.norm(np.array(cam.translation_m) - truth[:3, 3])),
                        g.angle_deg(np.array(cam.rotation).reshape(3, 3), truth[:3, :3]),
                        float("nan") if cam.held_out is None else cam.held_out.rms_px)
    return out


def test_a_free_running_rig_with_a_waved_board_is_calibrated(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                             ) -> None:
    """calib_freerun (unsynchronized cameras up to 25 ms apart, a fast board): the board's motion within each
    frameset is modelled, so every camera is within 2 mm and 0.1 deg of the rig file, held-out RMS under 0.5 px,
    exit 0 (it was refused before the motion model)."""
    rig_path = EXAMPLES / "calib_freerun.toml"
    rec = tmp_path / "f.mcap"
    assert main(["capture", str(rig_path), "--fast", "--seconds", "5", "--out", str(rec), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["calibrate", str(rec), "-o", str(tmp_path / "c.json")]) == 0
    errors = _within_limits(tmp_path / "c.json", rig_path)
    assert sorted(errors) == ["cam-a/color", "cam-b/color", "cam-c/color", "cam-d/color"]
    for key, (pos, ang, rms) in errors.items():
        assert pos < 0.002 and ang < 0.1 and rms < 0.5, (key, pos, ang, rms)


def test_rolling_shutter_views_are_modelled_and_weak_poses_left_out(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Kinect star, 3 s: the rolling-shutter colour views are not rejected for their readout (modelled), and the
    colour cameras that saw the board with the others are written within 2 mm and 0.1 deg with the IR cameras;
    kinect-sub2/color, whose one shared view the motion model cannot account for (the stamps' error bound at the
    start of the take), is left out naming that reason (exit 1). kinect-master/color saw the board with another
    camera in no held-out frameset: its held-out error is not measured, and the report says so."""
    rig_path = Path(__file__).with_name("calib_rolling.toml")
    rec = tmp_path / "k.mcap"
    assert main(["capture", str(rig_path), "--fast", "--seconds", "3", "--out", str(rec), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["calibrate", str(rec), "-o", str(tmp_path / "c.json")]) == 1
    out = " ".join(capsys.readouterr().out.split())
    cal = load_calibration(tmp_path / "c.json")
    assert list(cal.disconnected) == ["kinect-sub2/color"]
    assert cal.disconnected["kinect-sub2/color"].startswith(
        "kinect-sub2/color: its 1 board views were all rejected for timing (what the motion model leaves out")
    assert f"not calibrated: {cal.disconnected['kinect-sub2/color']}" in out
    errors = _within_limits(tmp_path / "c.json", rig_path)
    assert sorted(errors) == ["kinect-master/color", "kinect-master/ir", "kinect-sub1/color", "kinect-sub1/ir",
                              "kinect-sub2/ir"]
    assert np.isnan(errors["kinect-master/color"][2])
    for key, (pos, ang, rms) in errors.items():
        assert pos < 0.002 and ang < 0.1 and (rms < 0.5 or key == "kinect-master/color"), (key, pos, ang, rms)
    assert {c.held_out.method for c in cal.cameras if c.held_out is not None} == {"leave-camera-out"}
    assert "held-out error not measured for kinect-master/color: seen with another camera in no held-out" in out


@pytest.fixture(scope="module")
def nine(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    d = tmp_path_factory.mktemp("nine")
    rec = d / "nine.mcap"
    assert main(["capture", str(EXAMPLES / "calib_nine.toml"), "--fast", "--seconds", "5", "--out", str(rec),
                 "--quiet"]) == 0
    return d / "c.json", main(["calibrate", str(rec), "-o", str(d / "c.json")])


@pytest.mark.slow
def test_nine_rolling_shutter_cameras_calibrate_within_the_limits(nine: tuple[Path, int]) -> None:
    """calib_nine (nine Kinect colour cameras, 16 ms rolling-shutter readout, a turning board), defaults: every
    camera within 2 mm and 0.1 deg of the rig file and held-out RMS under 0.5 px, exit 0 (refused before the
    motion model: its readout skew is 0.33-1.34 px)."""
    cal_path, code = nine
    assert code == 0
    errors = _within_limits(cal_path, EXAMPLES / "calib_nine.toml")
    assert sorted(errors) == [f"k{i}/color" for i in range(9)]
    for key, (pos, ang, rms) in errors.items():
        assert pos < 0.002 and ang < 0.1 and rms < 0.5, (key, pos, ang, rms)
