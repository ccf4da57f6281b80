"""``rigsync export REC.mcap --rerun OUT.rrd``: the .rrd read back with rerun's own loader holds every recorded
image at its rig time, depth with its metre scale, a pinhole per camera, the rig file's poses and the health plots."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console
from tests.verify.rigs import TWO_HOSTS_PTP, capture, fault

from rigsync.core.errors import RigsyncError
from rigsync.record import open_recording

rr = pytest.importorskip("rerun", reason="rerun-sdk is not installed (pip install 'rigsync[rerun]')")
from rerun.chunk import RrdReader  # noqa: E402

from rigsync.cli.export_rerun import export_rerun  # noqa: E402
from rigsync.export.rerun import export_rerun as write_rrd  # noqa: E402

RIG = """
[sim]
render_width = 32
seed = 5

[[hosts]]
name = "h"
usb_controllers = [{ name = "u0" }, { name = "u1" }]

[[devices]]
id = "k0"
model = "azure-kinect-dk"
serial = "K0"
host = "h"
connection = "usb:u0"
pose = { position = [2.0, 0.0, 1.5], look_at = [0.0, 0.0, 1.0] }
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 },
           { kind = "depth", width = 640, height = 576, fps = 30 }]

[[devices]]
id = "k1"
model = "azure-kinect-dk"
serial = "K1"
host = "h"
connection = "usb:u1"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 },
           { kind = "depth", width = 640, height = 576, fps = 30 }]

[[sync]]
name = "star"
method = "hardware"
topology = "star"
source = { device = "k0" }
members = [{ device = "k0", role = "master" }, { device = "k1", role = "subordinate", depth_delay_us = 160 }]
""" + fault("drop-burst", 0.5, 0.1, device="k1")

Rows = dict[str, list[dict[str, Any]]]


def _export_and_read(rec: Path, out: Path) -> Rows:
    """Export ``rec`` with the CLI function and read ``out`` back with rerun's RRD reader: rows per entity (times
    as integer nanoseconds)."""
    assert export_rerun(rec, out, Console(file=io.StringIO())) == 0
    rows: Rows = defaultdict(list)
    for chunk in RrdReader(out).stream():
        batch = chunk.to_record_batch()
        columns = {name: (batch.column(name).cast("int64") if name == "rig_time" else batch.column(name)).to_pylist()
                   for name in batch.schema.names if name != "rerun.controls.RowId"}
        rows[chunk.entity_path].extend(dict(zip(columns, values, strict=True)) for values in zip(*columns.values(),
                                                                                                  strict=True))
    return rows


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Rows]:
    """A 1.5 s two-Kinect capture (colour and depth, k0 posed, k1 losing frames for 0.1 s) and its export, read
    back with rerun's RRD reader as rows per entity (times as integer nanoseconds)."""
    folder = tmp_path_factory.mktemp("rerun")
    rec = capture(RIG, folder / "rec.mcap", 1.5)
    return rec, folder / "out.rrd", _export_and_read(rec, folder / "out.rrd")


def test_every_image_is_logged_once_at_its_rig_time_with_its_pixels(exported: tuple[Path, Path, Rows]) -> None:
    """Each recorded image is one row of its camera's entity at its rig time and frame counter, same pixels, colour
    in its channel order (the simulator's bgr8)."""
    rec, _, rows = exported
    with open_recording(rec) as recording:
        images = list(recording.images_of((s.device, s.stream) for s in recording.streams))
    assert len(images) > 100
    logged = {(e, r["rig_time"], r["seq"]): r for e, rs in rows.items() for r in rs
              if "Image:buffer" in r or "DepthImage:buffer" in r}
    assert len(logged) == len(images)
    for image in images:
        row = logged[(f"/world/{image.device}/{image.stream}", image.rig_time_ns, image.seq)]
        buffer = row["DepthImage:buffer" if image.stream == "depth" else "Image:buffer"][0]
        assert bytes(buffer) == image.image.tobytes()
        if image.stream == "color":
            assert image.encoding == "bgr8" and row["Image:format"][0]["color_model"] == rr.ColorModel.BGR.value


def test_depth_is_a_depth_image_in_millimetres(exported: tuple[Path, Path, Rows]) -> None:
    """Depth (16UC1) is logged as a DepthImage with meter = 1000 (millimetres), colour as a plain Image."""
    _, _, rows = exported
    for device in ("k0", "k1"):
        depth = [r for r in rows[f"/world/{device}/depth"] if "DepthImage:buffer" in r]
        assert depth and all(r["DepthImage:meter"] == [1000.0] for r in depth)
        assert not any("Image:buffer" in r for r in rows[f"/world/{device}/depth"])
        assert any("Image:buffer" in r for r in rows[f"/world/{device}/color"])


def test_each_camera_has_its_pinhole_and_the_posed_one_its_pose(exported: tuple[Path, Path, Rows]) -> None:
    """Every stream's pinhole is its camera_info K and size; k0 (posed in the rig file) looks from its position
    at its look_at point, x horizontal and y down; k1 (no pose) has no transform."""
    rec, _, rows = exported
    with open_recording(rec) as recording:
        for s in recording.streams:
            k = recording.intrinsics(s.device, s.stream)
            assert k is not None
            (pinhole,) = [r for r in rows[f"/world/{s.device}/{s.stream}"] if "Pinhole:image_from_camera" in r]
            matrix = np.asarray(pinhole["Pinhole:image_from_camera"][0]).reshape(3, 3).T  # stored column-major
            np.testing.assert_allclose(matrix, [[k.fx, 0, k.cx], [0, k.fy, k.cy], [0, 0, 1]], rtol=1e-6)
            assert pinhole["Pinhole:resolution"][0] == [k.width, k.height]
    (pose,) = rows["/world/k0"]
    rotation = np.asarray(pose["Transform3D:mat3x3"][0]).reshape(3, 3).T
    translation = np.asarray(pose["Transform3D:translation"][0])
    np.testing.assert_allclose(translation, [2.0, 0.0, 1.5])
    look_at_in_camera = rotation.T @ (np.array([0.0, 0.0, 1.0]) - translation)
    np.testing.assert_allclose(look_at_in_camera, [0.0, 0.0, np.hypot(2.0, 0.5)], atol=1e-6)
    above_in_camera = rotation.T @ (np.array([0.0, 0.0, 2.0]) - translation)
    assert above_in_camera[1] < 0  # a point above the look-at point is up in the image (y down)
    np.testing.assert_allclose(rotation @ rotation.T, np.eye(3), atol=1e-6)
    assert "/world/k1" not in rows


def test_missing_members_and_error_bounds_are_plotted_per_stream(exported: tuple[Path, Path, Rows]) -> None:
    """Per stream: a running count of the framesets naming it missing, at each one's rig time and id; every
    frame's error bound in microseconds at its rig time; one row per frameset on the frameset plots."""
    rec, _, rows = exported
    with open_recording(rec) as recording:
        framesets = list(recording.framesets())
        frames = list(recording.frames())
    expected: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
    for fs in framesets:
        for m in fs.missing:
            entity = f"/health/{m.device}/{m.stream}/missing"
            expected[entity].append((fs.rig_time_ns, fs.frameset_id, len(expected[entity]) + 1.0))
    assert expected.keys() >= {"/health/k1/color/missing", "/health/k1/depth/missing"}  # the drop burst
    plotted = {e: sorted((r["rig_time"], r["frameset"], r["Scalars:scalars"][0]) for r in rs)
               for e, rs in rows.items() if e.endswith("/missing") and e.startswith("/health/")}
    assert plotted == expected
    bounds = {(e, r["rig_time"], r["seq"]): r["Scalars:scalars"][0] for e, rs in rows.items()
              if e.endswith("/error_bound_us") for r in rs}
    assert bounds == {(f"/health/{f.device}/{f.stream}/error_bound_us", f.rig_time_ns, f.seq): f.error_bound_ns / 1000
                      for f in frames}
    assert sorted(r["frameset"] for r in rows["/framesets/spread_us"]) == [fs.frameset_id for fs in framesets]


def _rerun_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the ``rerun`` CLI that rerun-sdk's wheel installs (skip without it)."""
    rerun_cli = shutil.which("rerun") or pytest.skip("no rerun CLI on PATH (it comes with rerun-sdk)")
    return subprocess.run([rerun_cli, *args], check=False, capture_output=True, text=True, timeout=120)


def test_rerun_verifies_the_export(exported: tuple[Path, Path, Rows]) -> None:
    """``rerun rrd verify`` (the CLI in rerun-sdk's wheel) loads and accepts the written file."""
    _, out, _ = exported
    done = _rerun_cli("rrd", "verify", str(out))
    assert done.returncode == 0, done.stderr


def test_rerun_mcap_convert_reads_the_recording(exported: tuple[Path, Path, Rows], tmp_path: Path) -> None:
    """``rerun mcap convert`` turns the recording itself into an .rrd that ``rerun rrd verify`` accepts."""
    rec, _, _ = exported
    out = tmp_path / "converted.rrd"
    done = _rerun_cli("mcap", "convert", str(rec), "-o", str(out))
    assert done.returncode == 0 and out.stat().st_size > 0, done.stderr
    done = _rerun_cli("rrd", "verify", str(out))
    assert done.returncode == 0, done.stderr


def test_rerun_mcap_check_finds_no_problem(exported: tuple[Path, Path, Rows]) -> None:
    """``rerun mcap check`` reports no structural or timeline problem on any topic of the recording."""
    rec, _, _ = exported
    done = _rerun_cli("mcap", "check", str(rec))
    assert done.returncode == 0, done.stderr
    assert "PROBLEM" not in done.stdout, done.stdout


def test_without_rerun_sdk_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                          exported: tuple[Path, Path, Rows]) -> None:
    """Without the rerun module the export stops with a RigsyncError naming the extra to install."""
    rec, _, _ = exported
    monkeypatch.setitem(sys.modules, "rerun", None)
    with pytest.raises(RigsyncError, match=r"pip install 'rigsync\[rerun\]'"):
        export_rerun(rec, tmp_path / "x.rrd", Console(file=io.StringIO()))
    assert not (tmp_path / "x.rrd").exists()


def test_a_rig_file_that_no_longer_loads_costs_only_the_poses(exported: tuple[Path, Path, Rows],
                                                             tmp_path: Path) -> None:
    """An embedded rig file that does not load: every image and pinhole exported, no pose, and the reason given."""
    rec, _, _ = exported
    with open_recording(rec) as recording:
        recording.rig_toml = recording.rig_toml.replace('kind = "drop-burst"', 'kind = "meteor"')
        done = write_rrd(recording, tmp_path / "x.rrd")
        assert done.images == sum(s.message_count for s in recording.streams)
    assert (done.pinholes, done.posed_devices) == (4, 0)
    assert "does not load" in done.poses_unread and "meteor" in done.poses_unread
    assert not any(chunk.entity_path == "/world/k0" for chunk in RrdReader(tmp_path / "x.rrd").stream())


def test_ptp_bounds_and_offsets_are_plotted_per_host(tmp_path: Path) -> None:
    """Each /rigsync/ptp/<host> sample is a point of that host's bound and offset plots (microseconds) at its rig
    time."""
    rec = capture(TWO_HOSTS_PTP, tmp_path / "ptp.mcap", 1.5)
    rows = _export_and_read(rec, tmp_path / "ptp.rrd")
    expected: dict[str, list[tuple[int, float]]] = defaultdict(list)
    with open_recording(rec) as recording:
        topics = [t for t in recording.json_topics() if t.startswith("/rigsync/ptp/")]
        for topic, _, p in recording.json_messages_of(topics):
            host = topic.removeprefix("/rigsync/ptp/")
            expected[f"/health/ptp/{host}/bound_us"].append((p["rig_ns"], p["bound_ns"] / 1000))
            if p["offset_ns"] is not None:
                expected[f"/health/ptp/{host}/offset_us"].append((p["rig_ns"], p["offset_ns"] / 1000))
    assert {"/health/ptp/gm/bound_us", "/health/ptp/b/offset_us"} <= expected.keys()
    plotted = {e: [(r["rig_time"], r["Scalars:scalars"][0]) for r in rs] for e, rs in rows.items()
               if e.startswith("/health/ptp/")}
    assert plotted == {e: sorted(v) for e, v in expected.items()}


def test_an_output_that_cannot_be_written_is_a_clear_error(exported: tuple[Path, Path, Rows], tmp_path: Path) -> None:
    """An output in a missing folder: a RigsyncError naming the file and why, not rerun-sdk's RuntimeError."""
    rec, _, _ = exported
    out = tmp_path / "no-such-folder" / "x.rrd"
    with pytest.raises(RigsyncError, match=rf"^{out}: cannot write the Rerun file \(Failed to create file: No such"):
        export_rerun(rec, out, Console(file=io.StringIO()))


def test_every_recorded_encoding_has_its_rerun_form(tmp_path: Path) -> None:
    """Each RawImage encoding rigsync records is logged as Rerun shows it: colour with its channel order, grey as L,
    depth as a DepthImage in its unit, yuyv as YUY2 and uyvy as YUY2 with each byte pair swapped."""
    from rigsync.export.rerun import _Writer
    from rigsync.record import RecordedImage
    from rigsync.record.schemas import PIXEL_FORMATS

    colour = {"rgb8": "RGB", "bgr8": "BGR", "rgba8": "RGBA", "bgra8": "BGRA", "mono8": "L", "8UC1": "L", "mono16": "L"}
    depth = {"16UC1": 1000.0, "32FC1": 1.0}
    assert set(PIXEL_FORMATS) == {*colour, *depth, "yuyv", "uyvy"}
    rng = np.random.default_rng(1)
    images = {}
    rec = rr.RecordingStream("test")
    rec.set_log_time_enabled(False)
    rec.save(tmp_path / "enc.rrd")
    writer = _Writer(rr, rec)
    for i, (encoding, fmt) in enumerate(PIXEL_FORMATS.items()):
        shape = (4, 6) if fmt.channels == 1 else (4, 6, fmt.channels)
        array = (rng.random(shape) * 200).astype(np.dtype(fmt.dtype))
        images[f"/world/d/{encoding}"] = array
        rig_time_ns = 1_000_000 * (i + 1)  # whole microseconds: pyarrow gives them as datetimes
        writer.at(rig_time_ns, seq=i)
        assert writer.image(RecordedImage("d", encoding, i, rig_time_ns, 0, array, encoding)) == (encoding in depth)
    rec.flush()
    rec.disconnect()
    rows = {c.entity_path: c.to_record_batch().to_pylist()[0] for c in RrdReader(tmp_path / "enc.rrd").stream()
            if c.entity_path.startswith("/world/")}
    for entity, array in images.items():
        encoding, row = entity.rsplit("/", 1)[1], rows[entity]
        if encoding in depth:
            assert row["DepthImage:meter"] == [depth[encoding]]
            assert bytes(row["DepthImage:buffer"][0]) == array.tobytes()
        elif encoding in colour:
            assert row["Image:format"][0]["color_model"] == rr.ColorModel[colour[encoding]].value
            assert bytes(row["Image:buffer"][0]) == array.tobytes()
        else:
            assert row["Image:format"][0]["pixel_format"] == rr.PixelFormat.YUY2.value
            yuyv = array if encoding == "yuyv" else array[..., ::-1]
            assert bytes(row["Image:buffer"][0]) == yuyv.tobytes()


def test_the_recording_itself_or_an_existing_file_is_never_replaced(exported: tuple[Path, Path, Rows]) -> None:
    """The recording as the output is refused (even with overwrite), an existing .rrd without overwrite too,
    each an OptionError naming --rerun and the file; nothing is written."""
    from rigsync.core.errors import OptionError

    rec, out, _ = exported
    size, before = rec.stat().st_size, out.read_bytes()
    with pytest.raises(OptionError, match=r"--rerun.*is the recording"):
        export_rerun(rec, rec, Console(file=io.StringIO()), overwrite=True)
    with pytest.raises(OptionError, match=r"--rerun.*exists.*--overwrite"):
        export_rerun(rec, out, Console(file=io.StringIO()))
    assert rec.stat().st_size == size and out.read_bytes() == before


def test_rigsync_export_rerun_writes_the_file(exported: tuple[Path, Path, Rows], tmp_path: Path) -> None:
    """``rigsync export REC --rerun OUT.rrd`` (the command) exits 0 with the file written and says how to open it;
    an existing output without --overwrite exits 2 naming --rerun."""
    rec, _, _ = exported
    out = tmp_path / "take.rrd"
    cli = [sys.executable, "-m", "rigsync.cli.main", "export", str(rec), "--rerun", str(out)]
    done = subprocess.run(cli, check=False, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"open it with: rerun {out}" in " ".join(done.stdout.split())
    assert _rerun_cli("rrd", "verify", str(out)).returncode == 0
    again = subprocess.run(cli, check=False, capture_output=True, text=True, timeout=120)
    said = again.stderr + again.stdout
    assert again.returncode == 2 and "--rerun" in said and "exists" in said, said
