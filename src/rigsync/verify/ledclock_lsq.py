"""The least-squares fit of one image's exposure window to the LED clock's samples (for :mod:`ledclock_decode`).

Levenberg-Marquardt on (start, duration, line time, dark level, one level per row) over every (LED, image row)
sample of some rows, with the model of :mod:`rigsync.verify.ledclock_model`. Samples with a clipped pixel are
censored (their true value is at least the one seen). The model is piecewise linear in each end of the window:
the fit is started from several places (:func:`starts`) and tried again from either side of an LED's edge where
an end stopped on one (:func:`off_kinks`).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from rigsync.boards.ledclock import LedClockBoard
from rigsync.verify.ledclock_model import LedSamples, SampleModel

__all__ = ["Frame", "WindowFit", "off_kinks", "starts"]

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class Frame:
    """One image's samples, with what is known of the board's rows."""

    board: LedClockBoard
    s: LedSamples
    v: F64
    saturated: npt.NDArray[np.bool_]
    """Samples with a clipped pixel: their true value is at least the one seen."""
    model: SampleModel


def _covariance(j: F64, r: F64, dof: int) -> F64:
    """The fit's covariance from its (weighted) Jacobian and residuals."""
    return np.asarray(np.linalg.inv(j.T @ j) * float(r @ r) / dof, dtype=np.float64)


class WindowFit:
    """Levenberg-Marquardt on (start, duration, line, dark, levels) over the samples of some rows."""

    def __init__(self, f: Frame, rows: npt.NDArray[np.bool_], fit_line: bool,
                 without: npt.NDArray[np.bool_] | None = None) -> None:
        """``without``: samples left out."""
        self.f = f
        self.use = np.append(rows, False)[f.s.row] & (True if without is None else ~without)
        self.fit_line = fit_line
        self.n_rows = len(f.board.rows)
        s = f.s
        self.level_of = 4 + s.row.clip(0, self.n_rows - 1)
        self.onehot = np.zeros((s.size, self.n_rows))
        self.onehot[np.arange(s.size), self.level_of - 4] = 1.0
        self.sw = np.sqrt(s.weight) * self.use  # 0 for the samples of rows not fitted

    def rows_used(self) -> npt.NDArray[np.bool_]:
        return np.isin(np.arange(self.n_rows), self.f.s.row[self.use])

    def _residual(self, x: F64) -> tuple[F64, F64, F64, F64]:
        """Weighted residuals, and the model's ``frac``, ``d0``, ``d1`` at ``x``."""
        f = self.f
        frac, d0, d1 = f.model(float(x[0]), float(x[1]), float(x[2]))
        r = x[3] + x[self.level_of] * frac - f.v
        r = np.where(f.saturated, np.minimum(r, 0.0), r)
        return r * self.sw, frac, d0, d1

    def _eval(self, x: F64) -> tuple[F64, F64]:
        r, frac, d0, d1 = self._residual(x)
        level = x[self.level_of]
        jac = np.empty((frac.size, x.size))
        jac[:, 0] = level * (d0 + d1)
        jac[:, 1] = level * d1
        jac[:, 2] = jac[:, 0] * self.f.s.y if self.fit_line else 0.0
        jac[:, 3] = 1.0
        jac[:, 4:] = self.onehot * frac[:, None]
        # A clipped sample the model puts at or above its value pulls nowhere (it is only a lower bound).
        over = self.f.saturated & (r >= 0.0)
        return r, jac * np.where(over, 0.0, self.sw)[:, None]

    def levels(self, x: F64) -> F64:
        """Dark and levels by linear least squares for the window in ``x``."""
        f, s = self.f, self.f.s
        frac, _, _ = f.model(float(x[0]), float(x[1]), float(x[2]))
        ok = self.use & ~f.saturated
        a = np.empty((s.size, 1 + self.n_rows))
        a[:, 0] = 1.0
        a[:, 1:] = self.onehot * frac[:, None]
        sw = np.sqrt(s.weight[ok])[:, None]
        sol, *_ = np.linalg.lstsq(a[ok] * sw, f.v[ok] * sw[:, 0], rcond=None)
        out = x.copy()
        out[3:] = sol
        return out

    def cost(self, x: F64) -> float:
        r = self._residual(x)[0]
        return float(r @ r)

    def linearized(self, x: F64) -> tuple[F64, F64]:
        """One Gauss-Newton step from ``x`` and its covariance: the fit about ``x`` (a fit with the line time held,
        this one's free), in ``x``'s basin of the piecewise-linear model."""
        r, j = self._eval(x)
        free = np.any(j != 0.0, axis=0)
        jf = j[:, free]
        out, cov = x.copy(), np.full((x.size, x.size), np.inf)
        try:
            out[free] -= np.linalg.solve(jf.T @ jf, jf.T @ r)
            cov[np.ix_(free, free)] = _covariance(jf, r, max(int(np.count_nonzero(self.use)) - jf.shape[1], 1))
        except np.linalg.LinAlgError:
            pass
        return out, cov

    def run(self, x: F64, iterations: int = 40) -> tuple[F64, F64, float]:
        """The fitted parameters, their covariance and the residual per pixel."""
        r, j = self._eval(x)
        cost = float(r @ r)
        lam = 1e-3
        free = np.ones(x.size, dtype=bool)
        for _ in range(iterations):
            free = np.any(j != 0.0, axis=0)
            jf = j[:, free]
            a = jf.T @ jf
            g = jf.T @ r
            step = np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-12), -g) if free.any() else g * 0
            trial = x.copy()
            trial[free] += step
            trial[1] = max(trial[1], 1.0)
            r2, j2 = self._eval(trial)
            cost2 = float(r2 @ r2)
            if cost2 <= cost:
                done = abs(trial[0] - x[0]) < 0.5 and abs(trial[1] - x[1]) < 0.5 and cost - cost2 <= 1e-6 * cost
                x, r, j, cost = trial, r2, j2, cost2
                lam = max(lam / 10, 1e-9)
                if done:
                    break
            else:
                lam *= 10
                if lam > 1e8:
                    break
        used = int(np.count_nonzero(self.use))
        dof = max(used - int(np.count_nonzero(free)), 1)
        sigma2 = cost / dof
        free = np.any(j != 0.0, axis=0)
        jf = j[:, free]
        cov = np.full((x.size, x.size), np.inf)
        with contextlib.suppress(np.linalg.LinAlgError):
            cov[np.ix_(free, free)] = _covariance(jf, r, dof)
        return x, cov, float(np.sqrt(sigma2))


_KINK = 0.02
"""A fitted streak end this close to an LED's edge (share of the finest row's step) may be held there."""
_OFF_KINK = 0.15
"""...and the fit is tried again from this share of a step either side."""


def off_kinks(fit: WindowFit, x: F64, cov: F64, rms: float) -> tuple[F64, F64, float]:
    """The fit, tried again from either side of an LED's edge where a streak end ended on one.

    The model is piecewise linear in each end: at an LED's edge its derivative is the LED's on one side, so the
    fit can stop there (every row's edges line up at the slower rows' ones) with the end a tenth of a step off and
    a covariance that does not know it."""
    f = fit.f
    used = fit.rows_used()
    finest = int(np.argmax(used))
    step = float(f.board.rows[finest].step_ns)
    y = float(np.mean(f.s.y[f.s.row == finest]))
    best = (fit.cost(x), x, cov, rms)
    for end in (0, 1):
        at = x[0] + x[2] * y + end * x[1]
        phase = (at % step) / step
        if min(phase, 1.0 - phase) > _KINK:
            continue
        for k in (-_OFF_KINK, _OFF_KINK):
            trial = x.copy()
            trial[0 if end == 0 else 1] += k * step
            if end == 0:
                trial[1] -= k * step
            out = fit.run(trial)
            if (cost := fit.cost(out[0])) < best[0]:
                best = (cost, *out)
    return best[1], best[2], best[3]


def starts(size: int, step: float) -> list[F64]:
    """Shifts of the start (and, opposite, of the duration) the first fit begins from."""
    out = []
    for k in (0.0, -0.5, 0.5):
        shift = np.zeros(size)
        shift[0], shift[1] = k * step, -k * step
        out.append(shift)
    return out
