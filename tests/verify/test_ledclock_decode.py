"""The LED clock decoder on synthetic images drawn from the board model (tests/verify/ledclock_render.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from tests.verify.ledclock_render import Scene, board_homography, render

from rigsync.boards.ledclock import LedClockBoard, default_board
from rigsync.record.reader import RecordedImage
from rigsync.verify.ledclock_decode import Undecodable
from rigsync.verify.ledclock_fit import best_common_offset, fit_board_time, unwrap_board
from rigsync.verify.ledclock_stream import StreamDecode, decode_stream, pool_lines

PERIOD_NS = 33_333_333


def _wrapped(err: float, wrap: int) -> float:
    return (err + wrap / 2) % wrap - wrap / 2


def _stream(board: LedClockBoard, scene: Scene, starts: list[int], duration_ns: int, line_ns: float,
            seed: int, occluded: tuple[int, ...] = (), blank: tuple[int, ...] = ()) -> StreamDecode:
    rng = np.random.default_rng(seed)
    images = []
    for seq, start in enumerate(starts):
        img = render(board, scene, start, duration_ns, line_ns, rng, occlude=seq in occluded)
        if seq in blank:
            img = np.full_like(img, 90)
        images.append(RecordedImage("cam", "color", seq, 0, 0, img, "mono8"))
    return decode_stream("cam/color", images, board)


@pytest.fixture(scope="module")
def board() -> LedClockBoard:
    return default_board()


@pytest.fixture(scope="module")
def starts() -> list[int]:
    t0 = 3_000_000_123_457  # beyond one wrap of the reference board's counter
    return [t0 + n * PERIOD_NS + 777 * n * n for n in range(8)]


def test_global_shutter_start_and_duration_to_a_microsecond(board: LedClockBoard, starts: list[int]) -> None:
    """A global-shutter exposure of 500 us: start (modulo the counter's wrap) and duration within 2 us."""
    result = _stream(board, Scene(board_homography()), starts, 500_000, 0.0, seed=1)
    assert sorted(result.decoded) == list(range(len(starts)))
    wrap = board.counter.wrap_ns
    errors = [_wrapped(result.decoded[n].start_ns - s, wrap) for n, s in enumerate(starts)]
    assert max(abs(e) for e in errors) < 2_000
    assert all(abs(d.duration_ns - 500_000) < 2_000 for d in result.decoded.values())
    assert result.line_ns == 0.0
    # The claimed uncertainty is not needlessly loose.
    assert all(d.start_sigma_ns < 1_000 for d in result.decoded.values())


def test_rolling_shutter_line_time_and_row_zero_start(board: LedClockBoard, starts: list[int]) -> None:
    """A rolling shutter (20 us per line, 500 us exposure): the line time within 0.5 % and row 0's start
    within 10 us, though the board starts 60 lines down."""
    result = _stream(board, Scene(board_homography()), starts, 500_000, 20_000.0, seed=2)
    assert len(result.decoded) == len(starts)
    assert result.line_ns == pytest.approx(20_000.0, rel=0.005)
    wrap = board.counter.wrap_ns
    errors = [_wrapped(result.decoded[n].start_ns - s, wrap) for n, s in enumerate(starts)]
    assert max(abs(e) for e in errors) < 10_000


def test_frames_without_the_board_are_counted_by_reason(board: LedClockBoard, starts: list[int]) -> None:
    """A frame with the board hidden and one before the board was ever seen are not decoded, by reason."""
    result = _stream(board, Scene(board_homography()), starts[:4], 500_000, 0.0, seed=3, occluded=(2,),
                     blank=(0,))
    assert result.failed[0].reason is Undecodable.NOT_IN_VIEW
    assert result.failed[2].reason is Undecodable.OCCLUDED
    assert sorted(result.decoded) == [1, 3]


def test_board_fit_recovers_drift_and_flags_a_bad_stamp() -> None:
    """The line through (board, stamp) recovers a 25 ppm crystal, and a 50 us stamp error stands out."""
    rng = np.random.default_rng(4)
    true_ns = np.arange(300) * float(PERIOD_NS)
    board_ns = 7e11 + true_ns * (1 + 25e-6) + rng.normal(0, 300, true_ns.size)
    rig_ns = np.asarray(5e9 + true_ns, dtype=np.float64)  # since the recording's first frame
    rig_ns[100] += 50_000
    fit = fit_board_time(board_ns, rig_ns)
    assert fit.board_ppm == pytest.approx(25.0, abs=0.5)
    assert not fit.inliers[100] and np.count_nonzero(~fit.inliers) == 1
    err = rig_ns - fit.rig_ns(board_ns)
    c, within = best_common_offset(err, np.full(err.size, 2_000.0))
    assert abs(c) < 2_000 and np.flatnonzero(~within).tolist() == [100]


def test_unwrap_board_across_the_counter_wrap() -> None:
    """Board times that wrap during the recording come out continuous."""
    wrap = 1e9
    rig = np.arange(10, dtype=np.float64) * 0.05e9
    true = 0.9e9 + rig
    assert np.allclose(unwrap_board(true % wrap, rig, wrap), true)


def test_board_fit_survives_a_counter_misread_by_seconds() -> None:
    """A few frames whose board time was misread by minutes do not tilt the line: they are its only outliers,
    and the crystal's rate is still recovered."""
    true_ns = np.arange(200) * float(PERIOD_NS)
    board_ns = 7e11 + true_ns * (1 + 20e-6)
    board_ns[[50, 51, 120]] += np.array([-116e9, -430e9, 46e9])
    fit = fit_board_time(board_ns, true_ns)
    assert fit.board_ppm == pytest.approx(20.0, abs=0.5)
    assert np.flatnonzero(~fit.inliers).tolist() == [50, 51, 120]


def test_line_time_pooled_only_when_streams_agree() -> None:
    """Streams of one sensor mode get one line time (weighted, sigma smaller than any one's) when they agree;
    a stream 10 sigma away keeps its own, and so do the others."""
    def stream(line: float, sigma: float) -> StreamDecode:
        s = StreamDecode("cam/color")
        s.own_line = (line, sigma)
        return s
    agree = [stream(14_830.0, 30.0), stream(14_812.0, 10.0), stream(14_815.0, 5.0)]
    assert pool_lines(agree)
    assert all(s.pooled == 3 and s.line_ns == agree[0].line_ns for s in agree)
    assert abs(agree[0].line_ns - 14_815.0) < 5.0 and agree[0].line_sigma_ns < 5.0
    apart = [stream(14_915.0, 10.0), stream(14_815.0, 5.0)]
    assert not pool_lines(apart)
    assert all(s.pooled == 1 and s.line_ns == 0.0 for s in apart)


def test_a_lit_counter_led_partly_hidden_is_not_read_as_dark(board: LedClockBoard, starts: list[int]) -> None:
    """A lit counter LED dimmed to a fifth (something passing in front of it) makes the frame's count
    ambiguous, not a count off by that bit (seconds to minutes); the other frames decode as before."""
    scene = Scene(board_homography())
    rng = np.random.default_rng(5)
    c = board.counter
    images = []
    for seq, start in enumerate(starts[:4]):
        img = render(board, scene, start, 500_000, 0.0, rng).astype(np.float64)
        if seq == 2:
            count = (start // c.unit_ns) % (1 << c.bits)
            gray = count ^ (count >> 1)
            bit = next(b for b in range(c.bits) if (gray >> (c.bits - 1 - b)) & 1)  # the first lit LED
            p = scene.homography @ np.array([c.x_mm + bit * c.pitch_mm, c.y_mm, 1.0])
            disc = np.zeros(img.shape, dtype=np.uint8)
            cv2.circle(disc, (round(p[0] / p[2]), round(p[1] / p[2])), round(board.led_diameter_mm * 0.4) + 3, 1, -1)
            img = np.where(disc > 0, scene.dark + 0.2 * (img - scene.dark), img)
        images.append(RecordedImage("cam", "color", seq, 0, 0, np.round(img).astype(np.uint8), "mono8"))
    result = decode_stream("cam/color", images, board)
    assert result.failed[2].reason is Undecodable.AMBIGUOUS_COUNTER
    wrap = board.counter.wrap_ns
    assert sorted(result.decoded) == [0, 1, 3]
    assert all(abs(_wrapped(result.decoded[n].start_ns - starts[n], wrap)) < 2_000 for n in (0, 1, 3))
