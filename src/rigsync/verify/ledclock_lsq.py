"""The least-squares fit of one image's exposure window to the LED clock's samples (for :mod:`ledclock_decode`).

Levenberg-Marquardt on (start, duration, line time, dark level, one level per row) over every (LED, image row)
sample of some rows, with the model of :mod:`rigsync.verify.ledclock_model`. Samples with a clipped pixel are
censored (their true value is at least the one seen). The model is piecewise linear in each end of the window:
the fit is started from several places (:func:`starts`) and tried again from either side of an LED's edge where
an end stopped on one (:func:`off_kinks`).

A frame is fitted a few times, ~8 iterations each, on a few hundred samples: numpy's calls, not the arithmetic,
are the cost. So only the samples of the rows fitted are evaluated (the others weigh nothing), only the
parameters the Jacobian can move are solved for, the normal equations, gradient and cost come from one product
of ``[J r]`` with itself, and several starts are iterated as one batch, each as it would be alone.
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


_SINGULAR = 1e12
"""``J'J`` scaled to a unit diagonal with a condition number beyond this is numerically singular (a combination of
parameters the samples do not determine; the frames fitted well are below ~1e8, singular ones ~1e16)."""


def _covariance(jtj: F64, cost: float, dof: int) -> F64:
    """The fit's covariance from ``J'J`` (weighted Jacobian) and the cost (sum of squared residuals).

    Raises :class:`numpy.linalg.LinAlgError` where ``J'J`` is numerically singular: its inverse is rounding noise
    (variances of 1e17 ns^2, of either sign), no covariance; the caller leaves it infinite."""
    scale = np.sqrt(np.diagonal(jtj))
    if np.linalg.cond(jtj / np.outer(scale, scale)) > _SINGULAR:
        raise np.linalg.LinAlgError("J'J is numerically singular")
    return np.asarray(np.linalg.inv(jtj) * (cost / dof), dtype=np.float64)


class WindowFit:
    """Levenberg-Marquardt on (start, duration, line, dark, levels) over the samples of some board ``rows``
    (several starts at once: :meth:`best`)."""

    def __init__(self, f: Frame, rows: npt.NDArray[np.bool_], fit_line: bool,
                 without: npt.NDArray[np.bool_] | None = None) -> None:
        """``without``: samples left out."""
        s = f.s
        self.f = f
        self.n_rows = len(f.board.rows)
        self.use = use = np.append(rows, False)[s.row] & (True if without is None else ~without)
        """The frame's samples fitted."""
        row = s.row[use]  # counter samples are never fitted
        self._rows_used = np.bincount(row, minlength=self.n_rows)[:self.n_rows] > 0
        self.used = int(row.size)
        self.model = f.model.subset(use)
        self.v = f.v[use]
        self.saturated = f.saturated[use]
        self.any_saturated = bool(self.saturated.any())
        self.row = row
        self.level_of = 4 + row
        self.sw = np.sqrt(s.weight[use])
        self.y = s.y[use]
        # The parameters the Jacobian can move (a level of a row without samples here cannot), and each
        # sample's level column among them.
        rows_here = np.flatnonzero(self._rows_used)
        self.params = np.concatenate([[0, 1, 2] if fit_line else [0, 1], [3], 4 + rows_here])
        self.fit_line = fit_line
        self._first_level = 4 if fit_line else 3
        column = np.zeros(self.n_rows, dtype=np.intp)
        column[rows_here] = np.arange(rows_here.size)
        self.onehot = np.zeros((row.size, rows_here.size))
        self.onehot[np.arange(row.size), column[row]] = 1.0
        self._eye = np.eye(self.params.size)

    def rows_used(self) -> npt.NDArray[np.bool_]:
        return self._rows_used

    def _residual(self, x: F64) -> tuple[F64, F64, F64, F64, F64]:
        """For parameters ``x`` (B, 4 + rows): weighted residuals, the model's ``frac``, ``d0 + d1`` and ``d1``,
        and each sample's level."""
        frac, d0, d1 = self.model.many(x[:, 0], x[:, 1], x[:, 2])
        level = x[:, self.level_of]
        r = level * frac
        r += x[:, 3:4]
        r -= self.v
        if self.any_saturated:
            r = np.where(self.saturated, np.minimum(r, 0.0), r)
        r *= self.sw
        d0 += d1
        return r, frac, d0, d1, level

    def _normal(self, x: F64) -> tuple[F64, F64, F64]:
        """``J'J`` and ``J'r`` over the parameters that can move, and the cost, of each row of ``x``: one product
        of ``[J r]`` with itself."""
        r, frac, d01, d1, level = self._residual(x)
        # A clipped sample the model puts at or above its value pulls nowhere (it is only a lower bound).
        w = np.where(self.saturated & (r >= 0.0), 0.0, self.sw) if self.any_saturated else self.sw
        k = self.params.size
        j = np.empty((x.shape[0], self.sw.size, k + 1))
        dt = level * d01
        np.multiply(dt, w, out=j[..., 0])
        np.multiply(level * d1, w, out=j[..., 1])
        if self.fit_line:
            np.multiply(dt * self.y, w, out=j[..., 2])
        j[..., self._first_level - 1] = w
        np.multiply(self.onehot, (frac * w)[..., None], out=j[..., self._first_level:k])
        j[..., k] = r
        m = j.transpose(0, 2, 1) @ j
        return m[:, :k, :k], m[:, :k, k], m[:, k, k]

    def levels(self, x: F64) -> F64:
        """Dark and levels by linear least squares for the window in ``x``."""
        frac, _, _ = self.model(float(x[0]), float(x[1]), float(x[2]))
        ok = ~self.saturated
        a = np.zeros((frac.size, 1 + self.n_rows))
        a[:, 0] = 1.0
        a[np.arange(frac.size), 1 + self.row] = frac
        sw = self.sw[ok][:, None]
        sol, *_ = np.linalg.lstsq(a[ok] * sw, self.v[ok] * sw[:, 0], rcond=None)
        out = x.copy()
        out[3:] = sol
        return out

    def cost(self, x: F64) -> float:
        r = self._residual(x[None, :])[0][0]
        return float(r @ r)

    def _iterate(self, x: F64, iterations: int) -> tuple[F64, F64, F64, npt.NDArray[np.bool_]]:
        """Each row of ``x`` (B, 4 + rows) fitted: the parameters, ``J'J`` and the cost there, and which of the
        parameters moved in the last iteration (those whose Jacobian column was not all zero)."""
        x = x.copy()
        a, g, cost = self._normal(x)
        n = x.shape[0]
        lam = np.full(n, 1e-3)
        active = np.ones(n, dtype=bool)
        free = np.ones((n, self.params.size), dtype=bool)
        for _ in range(iterations):
            diag = a.diagonal(axis1=1, axis2=2)
            free = diag != 0.0  # a column of the Jacobian that is all zero: its parameter is not fitted
            damped = a + (lam[:, None] * (diag + 1e-12))[:, :, None] * self._eye
            rhs = -g
            if not free.all():  # an unmoved parameter: its equation says step 0
                fixed = ~free
                damped[fixed[:, :, None] | fixed[:, None, :]] = 0.0
                damped += fixed[:, :, None] * self._eye
                rhs = np.where(fixed, 0.0, rhs)
            step = np.linalg.solve(damped, rhs[..., None])[..., 0]
            trial = x.copy()
            trial[:, self.params] += step
            trial[:, 1] = np.maximum(trial[:, 1], 1.0)
            a2, g2, cost2 = self._normal(trial)
            better = active & (cost2 <= cost)
            done = better & (np.abs(trial[:, :2] - x[:, :2]) < 0.5).all(axis=1) & (cost - cost2 <= 1e-6 * cost)
            if better.all():
                x, a, g, cost = trial, a2, g2, cost2
            elif better.any():
                x = np.where(better[:, None], trial, x)
                a = np.where(better[:, None, None], a2, a)
                g = np.where(better[:, None], g2, g)
                cost = np.where(better, cost2, cost)
            lam = np.where(better, np.maximum(lam / 10, 1e-9), np.where(active, lam * 10, lam))
            active &= ~done & (better | (lam <= 1e8))
            if not active.any():
                break
        return x, a, cost, free

    def linearized(self, x: F64) -> tuple[F64, F64]:
        """One Gauss-Newton step from ``x`` and its covariance: the fit about ``x`` (a fit with the line time held,
        this one's free), in ``x``'s basin of the piecewise-linear model."""
        a, g, cost = (v[0] for v in self._normal(x[None, :]))
        moved = np.diagonal(a) != 0.0
        at = self.params[moved]
        a = a[np.ix_(moved, moved)]
        out, cov = x.copy(), np.full((x.size, x.size), np.inf)
        try:
            out[at] -= np.linalg.solve(a, g[moved])
            cov[np.ix_(at, at)] = _covariance(a, float(cost), max(self.used - at.size, 1))
        except np.linalg.LinAlgError:
            pass
        return out, cov

    def best(self, starts: F64, iterations: int) -> F64:
        """Of ``starts`` (B, 4 + rows), each fitted for ``iterations``, the one fitting best."""
        x, _, cost, _ = self._iterate(starts, iterations)
        return np.asarray(x[int(np.argmin(cost))], dtype=np.float64)

    def run(self, x: F64, iterations: int = 40) -> tuple[F64, F64, float]:
        """The fitted parameters, their covariance and the residual per pixel."""
        fitted, a, cost, free = self._iterate(x[None, :], iterations)
        dof = max(self.used - int(np.count_nonzero(free[0])), 1)
        sigma2 = float(cost[0]) / dof
        moved = np.diagonal(a[0]) != 0.0
        at = self.params[moved]
        cov = np.full((x.size, x.size), np.inf)
        with contextlib.suppress(np.linalg.LinAlgError):
            cov[np.ix_(at, at)] = _covariance(a[0][np.ix_(moved, moved)], float(cost[0]), dof)
        return fitted[0], cov, float(np.sqrt(sigma2))


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
