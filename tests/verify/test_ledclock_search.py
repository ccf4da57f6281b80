"""How often the LED clock's decoder searches a stream for the board, and its batched fit of several starts."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from tests.verify.ledclock_render import Scene, board_homography, render

from rigsync.boards.ledclock import LedClockBoard, default_board
from rigsync.record.reader import RecordedImage
from rigsync.verify.ledclock_decode import Undecodable
from rigsync.verify.ledclock_find import MarkerFinder, sampling_plan
from rigsync.verify.ledclock_lsq import Frame, WindowFit
from rigsync.verify.ledclock_model import SampleModel
from rigsync.verify.ledclock_stream import StreamDecode, decode_stream

PERIOD_NS = 33_333_333
T0_NS = 3_000_000_123_457


@pytest.fixture(scope="module")
def board() -> LedClockBoard:
    return default_board()


def _decode(board: LedClockBoard, shown: range, frames: int, monkeypatch: pytest.MonkeyPatch,
            occluded: range = range(0)) -> tuple[StreamDecode, list[int]]:
    """Decode ``frames`` images of which ``shown`` show the board (the others a blank wall, or the board hidden
    for ``occluded``); returns the stream's decode and the frames the markers were searched in."""
    scene = Scene(board_homography())
    rng = np.random.default_rng(5)
    images = []
    for seq in range(frames):
        start = T0_NS + seq * PERIOD_NS
        img = render(board, scene, start, 500_000, 0.0, rng, occlude=seq in occluded)
        if seq not in shown:
            img = np.full_like(img, 90)
        images.append(RecordedImage("cam", "color", seq, 0, 0, img, "mono8"))
    searched: list[int] = []
    corners = MarkerFinder.corners

    def spy(self: MarkerFinder, grey: np.ndarray) -> dict[int, np.ndarray]:
        searched.append(current[0])
        return corners(self, grey)

    current = [0]

    def feed() -> Iterator[RecordedImage]:
        for img in images:
            current[0] = img.seq
            yield img

    monkeypatch.setattr(MarkerFinder, "corners", spy)
    result = decode_stream("cam/color", feed(), board)
    return result, searched


def test_a_stream_without_the_board_is_searched_every_tenth_frame_until_it_shows_it(
        board: LedClockBoard, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ten fruitless searches, then every tenth frame: a board that comes into view at frame 30 is found at
    frame 39 and decoded from there; the frames not searched are not_in_view and say they were not searched."""
    result, searched = _decode(board, range(30, 42), 42, monkeypatch)
    assert searched == [*range(10), 19, 29, 39, 40, 41]  # then five detections: the homography is made
    failed, decoded = result.failed, result.decoded
    assert sorted(decoded) == [39, 40, 41]
    assert sorted(failed) == list(range(39))
    for seq in range(39):
        f = failed[seq]
        assert f.reason is Undecodable.NOT_IN_VIEW
        assert ("not searched" in f.detail) is (seq not in searched)


def test_a_stream_that_showed_the_board_is_searched_in_every_frame_that_hides_it(
        board: LedClockBoard, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once the board was seen, a hidden board is searched for in every frame (no backing off): twelve
    occluded frames are each searched and counted occluded, and the board is decoded again right after."""
    result, searched = _decode(board, range(20), 20, monkeypatch, occluded=range(6, 18))
    assert searched == [*range(5), *range(6, 18)]  # 0-4: the homography; 5 only checked; 6-17 hidden: each
    failed, decoded = result.failed, result.decoded
    assert sorted(failed) == list(range(6, 18))
    assert all(failed[s].reason is Undecodable.OCCLUDED and "not searched" not in failed[s].detail
               for s in range(6, 18))
    assert sorted(decoded) == [0, 1, 2, 3, 4, 5, 18, 19]


def test_starts_fitted_together_each_get_what_they_get_alone(board: LedClockBoard) -> None:
    """:meth:`WindowFit.best` fits several starts as one batch: each ends where it ends when fitted alone, and
    the best of them (least cost) is returned."""
    scene = Scene(board_homography())
    rng = np.random.default_rng(11)
    img = render(board, scene, T0_NS, 500_000, 0.0, rng)
    plan = sampling_plan(board, scene.homography, img.shape[0], img.shape[1])
    assert plan is not None
    values, clipped = plan.led_values(img, 255.0)
    frame = Frame(board, plan.samples, values, clipped, SampleModel(board, plan.samples))
    fit = WindowFit(frame, np.ones(len(board.rows), dtype=bool), fit_line=False)
    cycle = board.rows[-1].cycle_ns
    base = fit.levels(np.concatenate([[T0_NS % cycle, 480_000.0, 0.0, 10.0], np.zeros(len(board.rows))]))
    # Half a step off either side ends in another local minimum (the model is piecewise linear): the best start
    # is the last one here, not the first.
    starts = np.stack([base + np.array([k, -k, 0, 0, *[0] * len(board.rows)]) for k in (-60_000.0, 60_000.0, -3_000.0)])
    alone = [fit.run(x, iterations=6)[0] for x in starts]
    assert fit.cost(alone[0]) > 100 * fit.cost(alone[2]) and fit.cost(alone[1]) > 100 * fit.cost(alone[2])
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        best = fit.best(starts[order], iterations=6)
        assert np.allclose(best, alone[2], rtol=0, atol=1e-6)
    assert abs(best[0] - T0_NS % cycle) < 1_000  # the exposure's start, to a microsecond
