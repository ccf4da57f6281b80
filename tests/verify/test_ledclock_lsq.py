"""The LED clock's window fit (ledclock_lsq): its covariance where the samples do not determine a parameter."""

from __future__ import annotations

import dataclasses

import numpy as np
from tests.verify.ledclock_render import Scene, board_homography, render

from rigsync.boards.ledclock import default_board
from rigsync.verify.ledclock_find import sampling_plan
from rigsync.verify.ledclock_lsq import Frame, WindowFit
from rigsync.verify.ledclock_model import SampleModel

T0_NS = 3_000_000_123_457


def test_a_line_time_the_samples_cannot_see_has_no_covariance_but_an_infinite_one() -> None:
    """With every sample moved onto one image row the line time trades exactly against the start: the fit's
    covariance is infinite (no rounding noise claimed as a variance); on the samples' own rows it is finite and
    puts the start within 5 sigma of the truth."""
    board = default_board()
    scene = Scene(board_homography())
    img = render(board, scene, T0_NS, 500_000, 0.0, np.random.default_rng(3))
    plan = sampling_plan(board, scene.homography, img.shape[0], img.shape[1])
    assert plan is not None
    values, clipped = plan.led_values(img, 255.0)
    cycle = board.rows[-1].cycle_ns
    for s, finite in ((plan.samples, True), (dataclasses.replace(plan.samples, y=np.full(plan.samples.size, 400.0)),
                                             False)):
        fit = WindowFit(Frame(board, s, values, clipped, SampleModel(board, s)), np.ones(len(board.rows), bool),
                        fit_line=True)
        x = fit.levels(np.concatenate([[T0_NS % cycle - 2_000.0, 490_000.0, 0.0, 10.0], np.zeros(len(board.rows))]))
        fitted, cov, _ = fit.run(x)
        assert bool(np.isfinite(cov[0, 0])) is finite and bool(np.isfinite(cov[2, 2])) is finite
        if finite:
            # Row 0's start is extrapolated over the rows above the board: within 5 sigma of the truth.
            assert abs(fitted[0] - T0_NS % cycle) < 5 * np.sqrt(cov[0, 0])
        _, held = fit.linearized(fitted)
        assert bool(np.isfinite(held[0, 0])) is finite
