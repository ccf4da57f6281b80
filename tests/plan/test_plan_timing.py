"""The warm-up the capture discards covers what the clock estimator's bound needs: ten frames of every stream."""

from __future__ import annotations

import pytest

from rigsync.plan import build_plan
from rigsync.plan.timing import CLOCK_PRIOR_FRAMES, WARMUP_BASE_NS
from rigsync.spec import loads_rig
from rigsync.timebase.estimator import EstimatorConfig

KINECT = """
[[hosts]]
name = "h"

[[devices]]
id = "k"
model = "azure-kinect-dk"
serial = "K0"
host = "h"
connection = "usb:c0"
streams = [{{ kind = "color", width = 1280, height = 720, fps = {fps}, format = "mjpeg", exposure_us = 8000 }}]
"""


def test_the_plan_knows_the_estimators_prior() -> None:
    """plan cannot import timebase: its copy of the estimator's prior point count is the estimator's."""
    assert EstimatorConfig().prior_points == CLOCK_PRIOR_FRAMES


@pytest.mark.parametrize(("fps", "warmup_ns"), [(30, 333_333_330), (15, 666_666_670), (5, 2_000_000_000)])
def test_the_warm_up_lasts_ten_frames_of_the_slowest_stream(fps: int, warmup_ns: int) -> None:
    """A 30 fps camera warms up for ten frames (just over the 0.3 s base), a 5 fps camera for 2 s: every frame
    recorded has a clock bound of its own, not the prior that caps the first ten points."""
    plan = build_plan(loads_rig(KINECT.format(fps=fps), "k.toml"))
    assert plan.warmup_ns == warmup_ns > WARMUP_BASE_NS
