"""Recording.intrinsics_of: every stream's first camera_info in one pass, the same as one stream at a time (each of
its own stream's size); None for a stream not recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigsync.capture.options import CaptureOptions
from rigsync.capture.session import CaptureSession
from rigsync.plan import build_plan
from rigsync.record.reader import open_recording
from rigsync.spec import load_rig

CALIB_THREE = Path(__file__).parents[2] / "examples" / "calib_three.toml"


@pytest.fixture(scope="module")
def take(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("intrinsics") / "take.mcap"
    with CaptureSession(build_plan(load_rig(CALIB_THREE)), CaptureOptions(out=out, seconds=1.0, fast=True,
                                                                          force=True)) as capture:
        assert capture.run().error is None
    return out


def test_one_pass_equals_one_stream_at_a_time(take: Path) -> None:
    with open_recording(take) as rec:
        keys = [f"{s.device}/{s.stream}" for s in rec.streams]
        together = rec.intrinsics_of([*keys, "nobody/color"])
        alone = {k: rec.intrinsics(*k.split("/")) for k in keys}
        widths = {f"{s.device}/{s.stream}": (s.width, s.height) for s in rec.streams}
    assert keys and {k: together[k] for k in keys} == alone
    assert together["nobody/color"] is None
    for key in keys:
        k = together[key]
        assert k is not None and (k.width, k.height) == widths[key] and k.fx > 0 and k.fy > 0
