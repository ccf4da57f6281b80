"""``rigsync export``: inputs that would give an empty or silently wrong export are refused, and every refusal
comes before anything is written (no frames folder left behind by a later format's error)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rigsync.cli.main import main
from rigsync.core.calibration import RigCalibration
from rigsync.export.cameras import rig_file_calibration
from rigsync.record import open_recording


def _calibration(rig3d: Path, path: Path, *, drop: str = "", width_of: str = "") -> Path:
    """The rig file's poses as a calibration file, without camera ``drop``, ``width_of``'s images twice as wide."""
    with open_recording(rig3d) as rec:
        cal = rig_file_calibration(rec)
    cams = tuple(dataclasses.replace(c, intrinsics=dataclasses.replace(c.intrinsics, width=2 * c.intrinsics.width))
                 if c.key == width_of else c for c in cal.cameras if c.key != drop)
    RigCalibration(cameras=cams, origin="rig-file").save(path)
    return path


@pytest.mark.parametrize(("argv", "message"), [
    (["--frames", "{out}", "--time", "50..60"], '--time = "50..60": selects no frameset: '),
    (["--frames", "{out}", "--time", "50.."], '--time = "50..": selects no frameset: '),
    (["--frames", "{tmp}/no/such/folder", "--calibrated", "{tmp}/no/such/out.mcap"],
     '--calibrated = "{tmp}/no/such/out.mcap": its folder {tmp}/no/such does not exist'),
    (["--frames", "{out}", "--colmap", "{out}"], '--colmap = "{out}": is also the --frames folder'),
    (["--ply", "{out}.mcap", "--calibrated", "{out}.mcap"], '--calibrated = "{out}.mcap": is also the --ply folder'),
    (["--frames", "{out}", "--nerfstudio", "{out2}", "--calibration", "{lacking}"],
     "the recorded camera k1/color is not in it"),
    (["--frames", "{out}", "--colmap", "{out2}", "--calibration", "{wide}"],
     "k0/color is calibrated for 128x36 images but recorded at 64x36"),
])
def test_refused_before_anything_is_written(rig3d: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            argv: list[str], message: str) -> None:
    """Exit 2, an error naming the option and the value, no traceback, and no output folder or file made."""
    names = {"out": str(tmp_path / "out"), "out2": str(tmp_path / "out2"), "tmp": str(tmp_path),
             "lacking": str(_calibration(rig3d, tmp_path / "lacking.json", drop="k1/color")),
             "wide": str(_calibration(rig3d, tmp_path / "wide.json", width_of="k0/color"))}
    assert main(["export", str(rig3d), *(a.format(**names) for a in argv)]) == 2
    err = capsys.readouterr().err
    assert message.format(**names) in err and "allowed:" in err and "Traceback" not in err
    assert not any((tmp_path / name).exists() for name in ("out", "out2", "out.mcap"))


def test_ply_of_a_recording_without_depth_writes_no_other_format(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """--ply's 'no depth stream' is found before --frames writes its framesets."""
    from tests.verify.rigs import TWO_HOSTS_PTP, capture

    take = capture(TWO_HOSTS_PTP, tmp_path / "take.mcap", 0.2)
    assert main(["export", str(take), "--frames", str(tmp_path / "f"), "--ply", str(tmp_path / "p")]) == 2
    assert "--ply" in capsys.readouterr().err
    assert not (tmp_path / "f").exists() and not (tmp_path / "p").exists()


def test_calibrated_copy_of_a_crashed_recording_is_refused_first(rig3d: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A recording cut short (no summary) is refused by --calibrated with the fix (rigsync recover), no traceback,
    before --frames writes anything (the other exports read it recovered)."""
    data = rig3d.read_bytes()
    cut = tmp_path / "cut.mcap"
    cut.write_bytes(data[: len(data) * 2 // 3])
    out = tmp_path / "cut.cal.mcap"
    code = main(["export", str(cut), "--frames", str(tmp_path / "f"), "--calibrated", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and f"rigsync recover {cut}" in err and "Traceback" not in err, err
    assert not (tmp_path / "f").exists() and not out.exists()


def test_complete_only_keeping_no_frameset_is_refused(rig3d: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """--complete-only over a --time range where every frameset misses a member (the rig's drop burst) is an
    error naming --complete-only, not an empty export."""
    with open_recording(rig3d) as rec:
        records = list(rec.framesets())
    t0 = records[0].rig_time_ns
    loose = next(r for r in records if r.missing)
    at_s = f"{(loose.rig_time_ns - t0) / 1e9:.9f}"
    assert main(["export", str(rig3d), "--frames", str(tmp_path / "f"), "--time", f"{at_s}..{at_s}",
                 "--complete-only"]) == 2
    err = capsys.readouterr().err
    assert "--complete-only: keeps no frameset: each of the 1 selected has a missing member" in err, err
    assert not (tmp_path / "f").exists()
