"""The flash detector on synthetic frames with sensor noise, a moving bright object and clipped areas: one
flash found and placed within one line time, no flash invented, and flashes it cannot place reported."""

from __future__ import annotations

import numpy as np
import pytest

from rigsync.verify._flash_detect import FlashDetector, FrameImage, grey

H, W = 120, 160
PERIOD_NS = 33_333_333
EXPOSURE_NS = 10_000_000
LINE_NS = 100_000.0  # 12 ms readout over 120 rows


def frames(n: int, *flashes: tuple[int, int, float], seed: int = 0) -> list[FrameImage]:
    """``n`` rolling-shutter frames of a textured scene with noise (sigma 2 levels), a saturated bright patch
    and a bright disc crossing it; each flash (start ns, duration ns, gain levels) lights each row by its
    window's share of it."""
    rng = np.random.default_rng(seed)
    texture = rng.uniform(20, 200, (H, W))
    texture[:10, :] = 255.0  # a clipped sky
    yy, xx = np.mgrid[0:H, 0:W]
    out = []
    for k in range(n):
        start = k * PERIOD_NS
        img = texture + rng.normal(0.0, 2.0, (H, W))
        cx, cy = (10 + 4 * k) % W, 60 + 20 * np.sin(k / 5)
        img[(xx - cx) ** 2 + (yy - cy) ** 2 < 15**2] = 250.0
        for t0, duration, gain in flashes:
            rows = start + LINE_NS * np.arange(H)
            share = np.clip(np.minimum(rows + EXPOSURE_NS, t0 + duration) - np.maximum(rows, t0), 0, None) / duration
            img += (gain * share)[:, None]
        image = np.clip(np.rint(img), 0, 255).astype(np.uint8)
        out.append(FrameImage(k, start, EXPOSURE_NS, grey(np.dstack([image] * 3))))
    return out


def detect(items: list[FrameImage]) -> FlashDetector:
    detector = FlashDetector(LINE_NS, PERIOD_NS)
    for item in items:
        detector.add(item)
    detector.finish()
    return detector


@pytest.mark.parametrize("at_ns", [40 * PERIOD_NS + 12_000_000, 40 * PERIOD_NS + 17_345_000,
                                   40 * PERIOD_NS + 20_500_000])
def test_a_flash_is_placed_within_one_line_time_despite_noise_and_a_moving_object(at_ns: int) -> None:
    """One 1 ms flash among 80 noisy frames with a moving bright disc: found once, its centre within one line
    time (100 us) of the truth, claimed so."""
    detector = detect(frames(80, (at_ns, 1_000_000, 60.0)))
    assert detector.misses == [] and len(detector.sightings) == 1
    seen = detector.sightings[0]
    assert seen.how.startswith("rolling shutter") and seen.uncertainty_ns == LINE_NS
    assert abs(seen.instant_rig_ns - (at_ns + 500_000)) <= LINE_NS
    assert seen.onset_rig_ns + seen.offset_ns == seen.instant_rig_ns


def test_no_flash_is_invented() -> None:
    """Noise and a moving bright disc over 150 frames give no sighting and no miss."""
    detector = detect(frames(150, seed=3))
    assert detector.sightings == [] and detector.misses == []


def test_a_flash_after_a_missing_frame_is_reported_not_placed() -> None:
    """When the frame before the first lit one is missing, the onset may be in it: reported as a miss naming
    the missing frame, never placed from the later frame."""
    at = 40 * PERIOD_NS + 12_000_000
    items = [f for f in frames(80, (at, 1_000_000, 60.0)) if f.seq != 39]
    detector = detect(items)
    assert detector.sightings == []
    assert [m.reason for m in detector.misses] == [
        "frames 39-39 just before the first lit frame are missing: the onset may be in them"]


def test_a_light_switched_on_is_not_a_flash() -> None:
    """A rise that lasts over 30 frames is reported as a change of lighting, and the new level becomes the
    baseline: a flash after it is still found and placed."""
    light_on = (20 * PERIOD_NS, 100 * PERIOD_NS, 30.0 * 100 * PERIOD_NS / EXPOSURE_NS)  # +30 levels per frame
    flash_at = 80 * PERIOD_NS + 15_000_000
    detector = detect(frames(100, light_on, (flash_at, 1_000_000, 40.0)))
    assert [m.reason for m in detector.misses] == ["brightness stayed up for over 30 frames (a light, not a flash)"]
    assert len(detector.sightings) == 1
    assert abs(detector.sightings[0].instant_rig_ns - (flash_at + 500_000)) <= LINE_NS


def test_a_flash_after_a_damaged_frame_is_reported_not_placed() -> None:
    """A frame flagged corrupt just before the first lit one may hold the onset: a miss saying so."""
    at = 40 * PERIOD_NS + 12_000_000
    items = [FrameImage(f.seq, f.rig_time_ns, f.exposure_ns, f.grey, usable=f.seq != 39)
             for f in frames(80, (at, 1_000_000, 60.0))]
    detector = detect(items)
    assert detector.sightings == []
    assert [m.reason for m in detector.misses] == [
        "the frame before the first lit frame is damaged: the onset may be in it"]
