"""The incremental lower hull equals a from-scratch hull at every step; the envelope bound is the exact extreme of
the lines consistent with the points."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from rigsync.timebase.bound import envelope_bound
from rigsync.timebase.hull import SlidingHull

Point = tuple[int, int]


def cross(o: Point, a: Point, b: Point) -> int:
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])


def lower_hull(points: list[Point]) -> list[Point]:
    """Reference: Andrew's monotone chain (lower half) from scratch, collinear points dropped."""
    hull: list[Point] = []
    for p in sorted(points):
        while len(hull) >= 2 and cross(hull[-2], hull[-1], p) <= 0:
            hull.pop()
        hull.append(p)
    return hull


# One operation: (kind, slot offset, x within the slot, y). Kinds: 0 a new newest slot, 1 a recent slot changed
# (the newest most often), 2 a slot up to a whole window late, 3 expire the oldest slots.
operations = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.integers(0, 999),
                                st.one_of(st.integers(0, 50), st.integers(-10**15, 10**15))), max_size=300)


@settings(max_examples=200, deadline=None)
@given(ops=operations, base=st.integers(-10**12, 10**12))
def test_sliding_hull_equals_a_hull_from_scratch(ops: list[tuple[int, int, int, int]], base: int) -> None:
    """Adds on the right, replacements of recent slots, late slots and expiry: the hull is exact after each."""
    hull = SlidingHull()
    slots: dict[int, Point] = {}
    newest = 0
    for kind, offset, dx, y in ops:
        if kind == 3:
            horizon = newest - offset
            gone = hull.expire_before(horizon)
            assert sorted(gone) == sorted(slots.pop(k) for k in [k for k in slots if k < horizon])
        else:
            key = newest + 1 + offset % 3 if kind == 0 else newest - (offset % 3 if kind == 1 else offset)
            point = (base + key * 1000 + dx, y)
            assert hull.put(key, point) == slots.get(key)
            slots[key] = point
            newest = max(newest, key)
        assert hull.vertices() == lower_hull(list(slots.values()))
        assert hull.keys == sorted(slots)
        assert hull.sum_x == sum(p[0] for p in slots.values())


def feasible_extremes(hull: list[Point], pivot: float, c: float, prior: tuple[float, float] | None,
                      at: float) -> tuple[float, float]:
    """(lowest, highest) value at ``at`` over the lines below every vertex and >= c at the pivot, with a slope in
    the prior if any such line has one: brute force over the region's candidate vertices (lines through two of
    its defining points, or through one at a slope of the prior)."""
    anchors = [(float(x), float(y)) for x, y in hull] + [(pivot, c)]
    lines = [(a, (b[1] - a[1]) / (b[0] - a[0])) for i, a in enumerate(anchors) for b in anchors[i + 1:] if b[0] != a[0]]
    tol = 1e-6 * (1 + max(abs(y) for _, y in hull))
    feasible = [(a, s) for a, s in lines
                if all(a[1] + s * (x - a[0]) <= y + tol for x, y in hull) and a[1] + s * (pivot - a[0]) >= c - tol]
    if prior is not None:
        lines += [(a, s) for a in anchors for s in prior]
        within = [(a, s) for a, s in lines if prior[0] - 1e-12 <= s <= prior[1] + 1e-12
                  and all(a[1] + s * (x - a[0]) <= y + tol for x, y in hull) and a[1] + s * (pivot - a[0]) >= c - tol]
        feasible = within or feasible
    values = [a[1] + s * (at - a[0]) for a, s in feasible]
    return min(values), max(values)


@settings(max_examples=150, deadline=None)
@given(ys=st.lists(st.integers(0, 2_000), min_size=3, max_size=12), pin=st.floats(1.0, 500.0),
       slope=st.floats(-0.02, 0.02), with_prior=st.booleans(), where=st.floats(-0.5, 1.5))
def test_envelope_bound_is_the_extreme_of_the_consistent_lines(ys: list[int], pin: float, slope: float,
                                                                with_prior: bool, where: float) -> None:
    """The bound covers every line below the points and within the pin bound at the pivot (in any slope prior),
    and equals the farthest of them beyond the points' span and on the side below the estimate."""
    points = [(i * 10_000, y) for i, y in enumerate(ys)]
    hull = lower_hull(points)
    pivot = sum(x for x, _ in points) / len(points)
    edge = max(i for i, (x, _) in enumerate(hull) if x <= pivot)
    line = (hull[edge], slope)
    prior = (-0.01, 0.01) if with_prior else None
    bound = envelope_bound(hull, edge, pivot, pin, line, prior)
    hb = hull[edge][1] + (pivot - hull[edge][0]) * (
        (hull[edge + 1][1] - hull[edge][1]) / (hull[edge + 1][0] - hull[edge][0]) if hull[edge][0] < pivot else 0)
    at = where * points[-1][0]
    lowest, highest = feasible_extremes(hull, pivot, hb - pin, prior, at)
    estimate = line[0][1] + line[1] * (at - line[0][0])
    below, above = bound.range_at(at - line[0][0])
    tol = 1e-6 * (1 + abs(estimate))
    assert estimate - lowest <= below + tol
    assert highest - estimate <= above + tol
    assert math.isclose(estimate - lowest, below, rel_tol=1e-9, abs_tol=tol)  # the flattest/steepest line via the pivot
    if not 0 <= at <= points[-1][0]:
        assert math.isclose(highest - estimate, above, rel_tol=1e-9, abs_tol=tol)  # the support line beyond the span
