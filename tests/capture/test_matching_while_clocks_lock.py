"""Framesets do not split while the rig's clocks lock, at 64 cameras, held against the truth.

While a device's clock mapping is still being acquired, its stamps' error bounds can be far larger than half
a frame period (~160 ms on a heavy-tailed link) although the stamps themselves are close. Shrinking every
matching window by such a bound leaves no room, and every set splits. The capture therefore matches stamps that
are still acquiring (or slewing) on their unshrunk window. Here the estimator's bounds are inflated by 150 ms
until its drift is fitted (the first second), as on such a link.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from rigsync.align import Aligner
from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.plan import build_plan
from rigsync.spec import loads_rig
from rigsync.timebase.estimator import ClockEstimate

CAMERAS = 64
INFLATED_NS = 150_000_000


def rig_text(cameras: int) -> str:
    lines = ['[sim]\nseed = 11\nrender_width = 16\n\n[[hosts]]\nname = "h"\n']
    for i in range(cameras):
        a = 2 * np.pi * i / cameras
        lines.append(f"""
[[devices]]
id = "cam{i:02d}"
model = "uvc-webcam"
serial = "W{i:04d}"
host = "h"
connection = "usb:ctrl{i // 2}"
pose = {{ position = [{2.6 * np.cos(a):.3f}, {2.6 * np.sin(a):.3f}, 1.4], look_at = [0.0, 0.0, 1.0] }}
streams = [{{ kind = "color", width = 640, height = 480, fps = 30 }}]
""")
    return "".join(lines)


def capture_while_locking(out: Path, monkeypatch: pytest.MonkeyPatch, *, shrink: bool) -> None:
    at = ClockEstimate.at  # (mapped value, bound below, bound above): what the stamper reads

    def inflated(self: ClockEstimate, device_ns: int) -> tuple[int, float, float]:
        mapped, below, above = at(self, device_ns)
        extra = 0 if self.fitted else INFLATED_NS
        return mapped, below + extra, above + extra

    monkeypatch.setattr(ClockEstimate, "at", inflated)
    if shrink:  # the control: windows shrunk by every bound, as before
        push = Aligner.push

        def shrinking(self: Aligner[Any], key: str, payload: Any, **kw: Any) -> Any:
            return push(self, key, payload, **{**kw, "locked": True})

        monkeypatch.setattr(Aligner, "push", shrinking)
    rig = loads_rig(rig_text(CAMERAS), "sixty-four.toml")
    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=1.2, fast=True)) as session:
        session.run()


@pytest.mark.slow
def test_sixty_four_cameras_match_from_the_first_set_while_their_clocks_lock(
        tmp_path: Path, contract: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    """With 150 ms error bounds while the clocks are acquired, 64 free-running cameras still give one set per
    moment from the first set on: each set holds every camera's frame nearest one instant (within half a
    period of each member's true exposure), no set lacks a camera whose frame is in another set, every frame
    is accounted for. With the windows shrunk by those bounds the same capture splits into hundreds of
    fragments."""
    out = tmp_path / "locking.mcap"
    capture_while_locking(out, monkeypatch, shrink=False)
    rec = contract.read(out)
    bounds = [f["error_bound_ns"] for f in rec.frames if not f["locked"]]
    assert max(bounds) > INFLATED_NS  # the recording did start while the bounds were inflated
    ledger = contract.ledger(rec)
    assert not ledger.problems, "\n".join(ledger.problems[:20])
    reasons = Counter(m["reason"] for fs in rec.framesets for m in fs["missing"])
    assert reasons["unmatched"] == 0
    by_key = {(f.key, f.seq): f for f in ledger.frames if f.recorded is not None}
    moments = len({round(f.ref_ns / 33_333_333) for f in ledger.frames if f.fate == "member"})
    assert len(rec.framesets) <= moments + 1
    for fs in rec.framesets:
        refs = [by_key[((m["device"], m["stream"]), m["seq"])].ref_ns for m in fs["members"]]
        assert max(refs) - min(refs) < 33_333_333  # one instant within half a period of each member
    monkeypatch.undo()
    split = tmp_path / "split.mcap"
    capture_while_locking(split, monkeypatch, shrink=True)
    fragments = Counter(m["reason"] for fs in contract.read(split).framesets for m in fs["missing"])
    assert fragments["unmatched"] > 200
