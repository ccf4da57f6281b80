"""``rigsync capture ... --live``: the command serves while it captures, writes the layout, refuses bad live
options; the layout of docs/ is the studio example's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from foxglove_schemas_protobuf.RawImage_pb2 import RawImage
from tests.live.fgclient import FoxgloveClient
from tests.live.rigs import RIG

from rigsync.live.layout import foxglove_layout
from rigsync.spec import load_rig

ROOT = Path(__file__).resolve().parents[2]


def _rigsync(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rigsync.cli.main", *map(str, args)], check=False,
                          capture_output=True, text=True, timeout=120)


def _stream_keys(rig_path: Path) -> list[str]:
    return [f"{d.id}/{s.name}" for d in load_rig(rig_path).devices for s in d.streams]


def test_capture_live_serves_while_it_records_and_writes_the_layout(tmp_path: Path) -> None:
    """`capture --live 127.0.0.1:0` says where it listens, a client there gets a preview at --live-width and the
    status while the capture runs, the layout names every stream, and the capture ends normally (exit 0)."""
    pytest.importorskip("foxglove")
    rig = tmp_path / "rig.toml"
    rig.write_text(RIG)
    layout = tmp_path / "layout.json"
    proc = subprocess.Popen([sys.executable, "-m", "rigsync.cli.main", "capture", rig, "--seconds", "3", "--quiet",
                             "--out", tmp_path / "take.mcap", "--live", "127.0.0.1:0", "--live-width", "80",
                             "--live-layout", layout], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("live view: ws://127.0.0.1:"), first + (proc.stderr.read() if proc.stderr else "")
        client = FoxgloveClient(first.split()[2], timeout_s=1)
        client.advertised({"/cam/color/image", "/rigsync/live/status"})
        client.subscribe(["/cam/color/image", "/rigsync/live/status"])
        got: dict[str, bytes] = {}
        deadline = time.monotonic() + 20
        while len(got) < 2 and time.monotonic() < deadline:
            if (m := client.next_message()) is not None:
                got[m.topic] = m.payload
        client.close()
        assert set(got) == {"/cam/color/image", "/rigsync/live/status"}
        preview = RawImage.FromString(got["/cam/color/image"])
        assert (preview.width, preview.height, preview.encoding) == (80, 60, "bgr8")
        assert [s["key"] for s in json.loads(got["/rigsync/live/status"])["streams"]] == _stream_keys(rig)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    topics = {p["imageMode"]["imageTopic"] for p in json.loads(layout.read_text())["configById"].values()
              if "imageMode" in p}
    assert topics == {f"/{k}/image" for k in _stream_keys(rig)}


@pytest.mark.parametrize(("args", "message"), [
    (["--live-fps", "0"], "--live-fps: '0': out of range (allowed: more than 0, up to 60 previews per second)"),
    (["--live", "localhost"], "argument --live: 'localhost': 'localhost' is not a port (allowed: HOST:PORT"),
    (["--live-width", "100"], "--live-width: is an option of the live view (allowed: with --live [HOST:PORT])"),
])
def test_bad_live_options_are_named(tmp_path: Path, args: list[str], message: str) -> None:
    """A bad live option: exit 2 with a message naming the option, the value and what is allowed; no recording."""
    rig = tmp_path / "rig.toml"
    rig.write_text(RIG)
    proc = _rigsync("capture", rig, "--seconds", "1", "--out", tmp_path / "take.mcap", *args)
    assert proc.returncode == 2
    assert message in proc.stderr.replace("\n", " ")
    assert not (tmp_path / "take.mcap").exists()


def test_the_layout_in_docs_is_the_studio_examples() -> None:
    """docs/foxglove-layout.json is what the layout function writes for examples/studio.toml: an Image panel per
    stream (image and calibration topics), a plot series per stream in every health plot, and the hosts' PTP."""
    rig = ROOT / "examples" / "studio.toml"
    layout = json.loads((ROOT / "docs" / "foxglove-layout.json").read_text())
    assert layout == foxglove_layout(load_rig(rig))
    keys = _stream_keys(rig)
    panels = layout["configById"]
    images = [p["imageMode"] for p in panels.values() if "imageMode" in p]
    assert [(m["imageTopic"], m["calibrationTopic"]) for m in images] == [
        (f"/{k}/image", f"/{k}/camera_info") for k in keys]
    plots = [p for name, p in panels.items() if name.startswith("Plot!")]
    assert len(plots) == 4
    for plot in plots:
        assert [s["label"] for s in plot["paths"]] == keys
        assert all(f'{{key=="{s["label"]}"}}' in s["value"] for s in plot["paths"])
    assert panels["RawMessages!hosts"]["topicPath"] == "/rigsync/live/status.hosts"
    assert json.dumps(layout["layout"]).count('"Image!') == len(keys)  # every image panel placed in the grid


def test_live_without_the_extra_names_it_and_records_nothing(tmp_path: Path) -> None:
    """`capture --live` where foxglove-sdk is missing: exit 2, one line naming the extra to install, no recording."""
    rig = tmp_path / "rig.toml"
    rig.write_text(RIG)
    out = tmp_path / "take.mcap"
    code = ("import sys; sys.modules['foxglove'] = None; from rigsync.cli.main import main; "
            f"sys.exit(main(['capture', {str(rig)!r}, '--seconds', '1', '--out', {str(out)!r}, '--live']))")
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.replace("\n", " ").strip() == (
        "error: the live view (--live) needs the Python module 'foxglove' (foxglove-sdk), which is not installed: "
        "pip install 'rigsync[live]'")
    assert not out.exists()
