"""``rigsync recover`` on a simulated capture killed with SIGKILL: the recovered file is complete and indexed, holds
every frame the killed file's recovery keeps, each with its stamp and the simulator's truth, and ``rigsync verify``
and ``info`` read it; bad input is a one-line error (exit 2)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from mcap.reader import make_reader

from rigsync.record import open_recording

EXAMPLES = Path(__file__).parents[2] / "examples"
KILL_AT_BYTES = 6 << 20
"""The capture is killed once its file holds this much (several chunks of images and stamps)."""


def _rigsync(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "rigsync.cli.main", *map(str, args)], check=False, cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def _killed_capture(tmp_path: Path) -> Path:
    """A --fast simulated capture SIGKILLed once its file holds ``KILL_AT_BYTES``."""
    out = tmp_path / "killed.mcap"
    proc = subprocess.Popen([sys.executable, "-m", "rigsync.cli.main", "capture", str(EXAMPLES / "kinect_star.toml"),
                             "--fast", "--seconds", "600", "--out", str(out), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    try:
        while not (out.exists() and out.stat().st_size >= KILL_AT_BYTES):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the capture wrote too little"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return out


def test_recover_a_sigkilled_capture(tmp_path: Path) -> None:
    """SIGKILL mid-capture: ``recover --json`` writes BROKEN.recovered.mcap holding exactly the frames the killed
    file's recovery keeps (per stream), each image with its stamp at its log time and a delivered truth record (but
    for the last, whose truth the kill may have cut);
    the summary's statistics equal the report's counts; ``verify`` and ``info`` run on it; the input is unchanged."""
    broken = _killed_capture(tmp_path)
    before = broken.read_bytes()
    result = _rigsync("recover", broken, "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    fixed = tmp_path / "killed.recovered.mcap"
    assert report["output"] == str(fixed) and not report["complete"] and broken.read_bytes() == before
    assert report["bytes_total"] == len(before) and 0 < report["bytes_kept"] <= len(before)

    with open(fixed, "rb") as f:
        reader = make_reader(f)
        summary = reader.get_summary()
        counts = Counter(ch.topic for _, ch, _ in reader.iter_messages())
    assert summary is not None and summary.statistics is not None
    assert dict(counts) == report["kept"]
    assert {summary.channels[c].topic: n for c, n in summary.statistics.channel_message_counts.items()} == counts

    with open_recording(broken) as crashed, open_recording(fixed) as rec:
        assert crashed.recovered and not rec.recovered
        assert [(s.topic, s.message_count) for s in rec.streams] == [(s.topic, s.message_count)
                                                                     for s in crashed.streams]
        assert sum(s.message_count for s in rec.streams) > 0
        truth = {(t.device, t.stream, t.seq): t for t in rec.truth()}
        stamps = {(f.device, f.stream, f.seq): f for f in rec.frames()}
        images = {(i.device, i.stream, i.seq): i.rig_time_ns for s in rec.streams
                  for i in rec.images(s.device, s.stream)}
        assert images.keys() == stamps.keys() and list(crashed.frames()) == list(stamps.values())
        assert all(stamps[k].rig_time_ns == t for k, t in images.items())
        # Truth is a channel of its own, in log-time order with the rest: an image may have kept its truth record
        # or, at the very end, lost it with the chunk the kill cut (its true start is after the last truth kept).
        last_truth_ns = max(t.exposure_start_ns for t in truth.values())
        assert all(truth[k].delivered if k in truth else stamps[k].rig_time_ns + stamps[k].error_bound_ns
                   >= last_truth_ns for k in images)
        assert sum(k in truth for k in images) >= len(images) - 3 * len(rec.streams)
        assert rec.rig_toml == (EXAMPLES / "kinect_star.toml").read_text()

    verify = _rigsync("verify", fixed, "--json", cwd=tmp_path)
    assert verify.returncode in (0, 1), verify.stderr
    assert json.loads(verify.stdout)
    info = _rigsync("info", fixed, cwd=tmp_path)
    assert info.returncode == 0 and "not closed properly" not in info.stdout, info.stdout

    again = _rigsync("recover", broken, cwd=tmp_path)
    assert again.returncode == 2 and again.stderr.strip() == f"error: {fixed}: exists (give --force to replace it)"
    done = _rigsync("recover", fixed, cwd=tmp_path)
    assert done.returncode == 0 and "already complete" in done.stdout
    assert not (tmp_path / "killed.recovered.recovered.mcap").exists()


def test_bad_input_is_one_line_naming_the_file(tmp_path: Path) -> None:
    """A missing file and a file that is not MCAP: one line naming the file, exit 2, no traceback."""
    (tmp_path / "notes.mcap").write_text("hello\n")
    for name, problem in (("missing.mcap", "cannot read: No such file or directory"),
                          ("notes.mcap", "not an MCAP file")):
        result = _rigsync("recover", name, cwd=tmp_path)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.startswith(f"error: {name}: {problem}") and result.stderr.count("\n") == 1
