"""``rigsync export --frames DIR``: every selected frameset's images read back with OpenCV equal the recorded
pixels (depth as 16-bit millimetres, IR as 16-bit), its stamps.json is the recorded frameset with each member's
file, and --every/--time/--complete-only keep exactly the framesets they document."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from rigsync.cli.main import main
from rigsync.core.frameset import FramesetRecord, MissingReason
from rigsync.record import open_recording


def _framesets(rec_path: Path) -> list[FramesetRecord]:
    with open_recording(rec_path) as rec:
        return list(rec.framesets())


def test_frames_hold_the_recorded_pixels_and_stamps(rig3d: Path, tmp_path: Path) -> None:
    """Each PNG (cv2.IMREAD_UNCHANGED) equals the recorded image, depth and IR keep 16 bits; stamps.json is the
    recorded frameset with files, missing members with their reason and a null file."""
    out = tmp_path / "frames"
    assert main(["export", str(rig3d), "--frames", str(out)]) == 0
    index = json.loads((out / "index.json").read_text())
    with open_recording(rig3d) as rec:
        sets = list(rec.framesets_with_images())
    assert [r["frameset_id"] for r in index["framesets"]] == [r.frameset_id for r, _ in sets]
    dropped = 0
    for (record, images), row in zip(sets, index["framesets"], strict=True):
        folder = out / f"{record.frameset_id:06d}"
        assert row["spread_ns"] == record.spread_ns and row["rig_time_ns"] == record.rig_time_ns
        for (device, stream), image in images.items():
            png = cv2.imread(str(folder / f"{device}_{stream}.png"), cv2.IMREAD_UNCHANGED)
            assert png is not None
            expected = image.image if image.encoding != "rgb8" else image.image[..., ::-1]
            assert png.dtype == expected.dtype and png.shape == expected.shape
            np.testing.assert_array_equal(png, expected)
            if stream in ("depth", "ir"):
                assert png.dtype == np.uint16 and image.encoding in ("16UC1", "mono16")
        stamps = json.loads((folder / "stamps.json").read_text())
        expected_stamps = record.to_json()
        for m in expected_stamps["members"]:
            m["file"] = f"{m['device']}_{m['stream']}.png" if (m["device"], m["stream"]) in images else None
        assert stamps == expected_stamps
        dropped += sum(m["reason"] == MissingReason.DROPPED.value for m in stamps["missing"])
        assert row["complete"] == (not record.missing and len(images) == len(record.members))
    assert dropped > 0, "the rig's drop burst should leave framesets with k1 missing"


def test_selection_keeps_the_documented_framesets(rig3d: Path, tmp_path: Path) -> None:
    """--time A..B (seconds from the first frameset, ends included) then --every N, and --complete-only."""
    records = _framesets(rig3d)
    t0 = records[0].rig_time_ns
    in_time = [r for r in records if t0 + 100_000_000 <= r.rig_time_ns <= t0 + 400_000_000]
    out = tmp_path / "a"
    assert main(["export", str(rig3d), "--frames", str(out), "--time", "0.1..0.4", "--every", "3"]) == 0
    got = [r["frameset_id"] for r in json.loads((out / "index.json").read_text())["framesets"]]
    assert got == [r.frameset_id for r in in_time][::3] and len(got) >= 3
    out = tmp_path / "b"
    assert main(["export", str(rig3d), "--frames", str(out), "--complete-only"]) == 0
    got = [r["frameset_id"] for r in json.loads((out / "index.json").read_text())["framesets"]]
    assert got == [r.frameset_id for r in records if not r.missing]
    assert len(got) < len(records)
    assert sorted(p.name for p in out.iterdir()) == sorted([*(f"{i:06d}" for i in got), "index.json"])


@pytest.mark.parametrize(("argv", "message"), [
    (["--frames", "{out}", "--time", "2..1"], '--time = "2..1": ends before it starts'),
    (["--frames", "{out}", "--time", "1-2"], '--time = "1-2": is not a range'),
    (["--frames", "{out}", "--time", "a..2"], "--time = \"a..2\": 'a' is not a number of seconds"),
    (["--frames", "{out}", "--every", "0"], "--every = 0: must be a whole number of 1 or more"),
    (["--frames", "{full}"], '--frames = "{full}": exists and is not empty'),
    (["--colmap", "{out}", "--calibration", "{missing}"], '--calibration = "{missing}": no such file'),
    (["--calibrated", "{out}"], '--calibrated = "{out}": is not a .mcap file name'),
    (["--calibrated", "{out}.mcap", "--time", "1..2"],
     "--every/--time/--complete-only: select framesets for a folder export only"),
])
def test_bad_options_name_the_option_and_value(rig3d: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                argv: list[str], message: str) -> None:
    """Bad export options exit 2 with an error naming the option, the value and what is allowed; nothing written."""
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("")
    names = {"out": str(tmp_path / "out"), "full": str(full), "missing": str(tmp_path / "none.json")}
    assert main(["export", str(rig3d), *(a.format(**names) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert message.format(**names) in err and "allowed:" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_depth_png_is_millimetres_of_the_true_scene(rig3d: Path, tmp_path: Path) -> None:
    """A depth PNG's value / 1000 is the z-depth in metres the simulator's true camera has to the floor (z = 0)
    where it sees the floor: within 2 mm (the recording's 1 mm steps), whatever the recorder's unit table says;
    index.json says the unit."""
    from tests.export.rig3d import true_view

    out = tmp_path / "frames"
    assert main(["export", str(rig3d), "--frames", str(out), "--every", "10"]) == 0
    index = json.loads((out / "index.json").read_text())
    assert index["depth_png"] == {"dtype": "uint16", "unit": "mm", "no_depth": 0}
    with open_recording(rig3d) as rec:
        view = true_view(rec, "k0", "depth")
    k = view.intrinsics
    u, v = np.meshgrid(np.arange(k.width, dtype=np.float64), np.arange(k.height, dtype=np.float64))
    rays_cam = np.stack([(u - k.cx) / k.fx, (v - k.cy) / k.fy, np.ones_like(u)], axis=-1)  # z = 1
    rays_world = rays_cam @ view.rotation  # R^T r for every pixel
    centre = -view.rotation.T @ view.translation
    with np.errstate(divide="ignore"):
        floor_z = np.where(rays_world[..., 2] < -1e-6, -centre[2] / rays_world[..., 2], np.inf)
    png = cv2.imread(str(out / index["framesets"][0]["folder"] / "k0_depth.png"), cv2.IMREAD_UNCHANGED)
    assert png is not None and png.dtype == np.uint16
    metres = png.astype(np.float64) / 1000.0
    floor = np.isfinite(floor_z) & (np.abs(metres - floor_z) < 0.05 * floor_z)  # not hidden by the box or board
    assert floor.sum() > 0.2 * floor.size
    assert np.percentile(np.abs(metres - floor_z)[floor], 95) < 0.002
