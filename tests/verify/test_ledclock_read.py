"""Reading a recording's image streams for the LED clock: shared among processes, each file read once."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from tests.verify.test_ledclock_sim import _rig

from rigsync.boards.ledclock import LedClockBoard, default_board
from rigsync.capture import CaptureOptions, CaptureSession
from rigsync.plan import build_plan
from rigsync.record.reader import RecordedImage
from rigsync.spec import loads_rig
from rigsync.verify import ledclock_read
from rigsync.verify.ledclock_read import decode_streams
from rigsync.verify.ledclock_stream import StreamDecode

KEYS = ["cam-0/color", "cam-1/color", "cam-2/color"]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ledclock-read") / "gige.mcap"
    rig = loads_rig(_rig("gige_ptp_four.toml", ("cam-0", "cam-1", "cam-2"), 960), "gige_ptp_four.toml")
    with CaptureSession(build_plan(rig), CaptureOptions(out=out, seconds=1.0, fast=True)) as session:
        session.run()
    return out


def test_worker_processes_decode_exactly_as_one(capture: Path) -> None:
    """Streams shared over two processes decode to the same starts, durations and failures as in this process."""
    here = decode_streams(capture, KEYS, default_board(), workers=1)
    pooled = decode_streams(capture, KEYS, default_board(), workers=2)
    assert list(pooled) == list(here) == KEYS
    for key in KEYS:
        assert len(here[key].decoded) >= 10  # the board is decoded, not only failed alike
        assert pooled[key].decoded == here[key].decoded
        assert pooled[key].failed == here[key].failed


def test_a_decoder_error_reaches_the_caller(capture: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stream whose decoder fails after one image raises its error to the caller, while the file is still read
    for the other streams (no hang on the failed stream's queue)."""

    def failing(key: str, images: Iterable[RecordedImage], board: LedClockBoard) -> StreamDecode:
        for _ in images:
            if key == "cam-1/color":
                raise ValueError(f"{key} broke")
        return StreamDecode(key)

    monkeypatch.setattr(ledclock_read, "decode_stream", failing)
    with pytest.raises(ValueError, match="cam-1/color broke"):
        decode_streams(capture, KEYS, default_board(), workers=1)
