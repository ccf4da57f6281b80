"""``verify --ledclock`` on rolling shutters (simulator, LED clock in view): the line time and row 0's start
against the truth, within what the decoder claims."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from rigsync.verify.ledclock import LedClockResult
from rigsync.verify.ledclock_stream import joint_line

BENCH = Path(__file__).parents[2] / "bench" / "ledclock_precision.py"
"""The precision benchmark's capture and decode (the figures of docs/ledclock-decode.md), reused here."""


def _decode(example: str, out: Path, seconds: float):  # type: ignore[no-untyped-def]
    """Capture ``example`` with the LED clock (1920 px, colour only, 1 ms manual exposure) and decode it."""
    spec = importlib.util.spec_from_file_location("ledclock_precision", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench.capture_and_decode(example, seconds, out)


@pytest.fixture(scope="module")
def kinect(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Hardware-triggered rolling shutters: the Kinect star's three colour cameras."""
    return _decode("kinect_star.toml", tmp_path_factory.mktemp("kinect") / "cap.mcap", 0.8)


@pytest.fixture(scope="module")
def zed(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """Free-running rolling shutters: three ZED 2i over USB, each on its own clock."""
    return _decode("zed2i_usb_three.toml", tmp_path_factory.mktemp("zed") / "cap.mcap", 0.8)


@pytest.fixture(params=["kinect", "zed"])
def rolling(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    return request.getfixturevalue(request.param)


def _stream_errors(r: LedClockResult, truth: dict[tuple[str, int], int]) -> dict[str, np.ndarray]:
    """Per stream, row 0's image-measured start minus the truth, less the one line common to every camera
    (the board-to-rig map fitted from the stamps is not the image's error: with a USB camera's stamps it tilts)."""
    keys = list(r.mapped_ns)
    mapped = np.array([r.mapped_ns[k] for k in keys])
    true = np.array([truth[k] - r.origin_ns for k in keys], dtype=np.float64)
    rate, offset = np.polyfit(mapped, true, 1)
    diff = mapped - (true - offset) / rate
    diff -= np.median(diff)
    return {s: diff[[n for n, k in enumerate(keys) if k[0] == s]] for s in r.streams}


def test_readout_within_its_uncertainty_of_the_catalog(rolling) -> None:  # type: ignore[no-untyped-def]
    """Each rolling stream's readout (line time x height) is within 3 stated sigmas of the catalog's, and the
    stated sigma is below 5 % of the readout (not needlessly loose)."""
    r, _, _, readout = rolling
    for key, s in r.streams.items():
        assert len(s.decoded) >= 5, (key, s.reasons())
        measured, sigma = s.line_ns * s.height, s.line_sigma_ns * s.height
        assert abs(measured - readout[key]) <= 3 * sigma, (key, measured, sigma)
        assert 0 < sigma < 0.05 * readout[key]


def test_row_zero_start_within_the_stated_uncertainty(rolling) -> None:  # type: ignore[no-untyped-def]
    """Row 0's start against the truth: each stream's common error within 3 of its stated sigmas (the line
    time's, common to its frames, with the others' in quadrature), and 90 % of the frames about it within 3 stated
    sigmas."""
    r, truth, _, _ = rolling
    errors = _stream_errors(r, truth)
    sigmas = {k: s.row0_sigma_ns for k, s in r.streams.items()}
    for key, e in errors.items():
        common = float(np.median(e))
        others = [v for k, v in sigmas.items() if k != key]
        allowed = 3 * float(np.hypot(sigmas[key], np.median(others))) + 2_000
        assert abs(common) <= allowed, (key, common, sigmas)
        # Frame to frame, about the stream's constant: within 3 of the frames' stated sigma.
        stated = np.median([d.start_sigma_ns for d in r.streams[key].decoded.values()])
        assert np.mean(np.abs(e - common) <= 3 * stated + 2_000) >= 0.9, (key, e - common, stated)
        assert sigmas[key] > 0


def test_image_skew_error_within_the_stated_uncertainty(rolling) -> None:  # type: ignore[no-untyped-def]
    """The image-measured skew minus the true skew, per frameset, within 3 stated sigmas of the members' row 0
    starts for 90 % of the framesets."""
    r, truth, framesets, _ = rolling
    inside = []
    for members in framesets:
        keys = [k for k in members if k in r.mapped_ns]
        if len(keys) < 2:
            continue
        image = [r.mapped_ns[k] for k in keys]
        true = [truth[k] - r.origin_ns for k in keys]
        lo, hi = keys[int(np.argmin(image))], keys[int(np.argmax(image))]
        sigma = float(np.hypot(r.streams[lo[0]].decoded[lo[1]].start_sigma_ns,
                               r.streams[hi[0]].decoded[hi[1]].start_sigma_ns))
        inside.append(abs(np.ptp(image) - np.ptp(true)) <= 3 * sigma + 2_000)
    assert len(inside) >= 8
    assert np.mean(inside) >= 0.9


def test_joint_line_is_robust_and_honest() -> None:
    """The stream's line time from frames whose fits claim less than they scatter, with one far outlier: the
    estimate is within its stated sigma's 3 of the truth, the outlier does not move it, and the sigma covers
    the scatter (not the fits' optimistic claims) without being looser than the frames' spread allows."""
    rng = np.random.default_rng(7)
    claimed = rng.uniform(50.0, 300.0, 200)
    lines = 14_815.0 + rng.normal(0.0, np.hypot(claimed, 250.0))
    lines[3] = 13_000.0
    line, sigma, kept = joint_line(lines, claimed)
    assert np.flatnonzero(~kept).tolist() == [3]
    assert abs(line - 14_815.0) <= 3 * sigma
    naive = float(np.sqrt(1.0 / np.sum(1.0 / claimed ** 2)))
    assert sigma > 2 * naive  # the fits' own claims would be too optimistic
    assert sigma < 2 * float(np.std(lines[lines > 14_000])) / np.sqrt(lines.size)


def test_row_zero_and_skew_within_20_us(rolling) -> None:  # type: ignore[no-untyped-def]
    """The Kinect star (hardware trigger) and three free-running ZED 2i (each on its own clock; the board's rows
    span ~30 image rows, ~1 pixel per LED), rolling shutters at 1 ms, the board ~660-750 rows below row 0: row 0's
    start within 20 us of the truth at p99 after the one common constant, and the image skew within 20 us of the
    true skew at p99 (the line time pooled over the three cameras of one sensor mode)."""
    r, truth, framesets, _ = rolling
    assert all(s.pooled == 3 for s in r.streams.values())
    errors = np.concatenate(list(_stream_errors(r, truth).values()))
    assert np.percentile(np.abs(errors), 99) < 20_000
    skew = []
    for members in framesets:
        keys = [k for k in members if k in r.mapped_ns]
        if len(keys) >= 2:
            skew.append(np.ptp([r.mapped_ns[k] for k in keys]) - np.ptp([truth[k] for k in keys]))
    assert len(skew) >= 8
    assert np.percentile(np.abs(skew), 99) < 20_000
