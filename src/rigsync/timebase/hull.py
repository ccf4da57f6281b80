"""Lower convex hull of a sliding window of points, kept up to date incrementally in exact integer arithmetic.

The window holds at most one point per *slot* (an integer key increasing with x, e.g. a 100 ms bucket of device
time), so x increases strictly with the key. Points mostly arrive on the right, the newest slot's point is
replaced as lower points arrive, a point may arrive late for a recent slot, and the oldest slots expire on the
left. The window is held as two parts, each the lower hull of its points as a stack whose pushes can each be
undone in O(1) (a push overwrites one cell of the stack and logs it; the vertices it pops stay in place):

* the *back* holds the newer points, pushed left to right: a change at a recent slot undoes the pushes back to
  that slot and pushes the slot and those after it again;
* the *front* holds the older points, pushed right to left, so the oldest point is the last push: it expires
  by undoing that push. When the front is empty and a point expires, every point of the back moves to the
  front (each point moves once, so expiry costs O(1) amortised).

The hull of the window joins the two parts by their lower common tangent (walked from the previous one while
neither part changed up to it). A change to a slot held in the front (a point arriving about a window's worth
of slots late) puts every point back into the back: rare, exact.
Pure code: no clocks.
"""

from __future__ import annotations

from bisect import bisect_left

Point = tuple[int, int]


class _UndoStack:
    """A lower hull built by pushing points in x order (``rightward`` or leftward); each push can be undone."""

    __slots__ = ("cells", "log", "low_water", "rightward", "top")

    def __init__(self, rightward: bool) -> None:
        self.rightward = rightward
        self.cells: list[Point] = []
        self.top = 0
        self.log: list[tuple[int, Point | None, int]] = []  # per push: (cell written, its old content, old top)
        self.low_water = 0
        """Lowest cell written or restored since the owner last reset this (to ``len(cells)``)."""

    def push(self, p: Point) -> None:
        cells, t = self.cells, self.top
        px, py = p
        # Pop while the last two vertices and p, in x order, do not turn counter-clockwise: the cross product
        # (a - o) x (p - o) of consecutive vertices o, a and the new point p is not positive.
        if self.rightward:
            while t >= 2:
                (ox, oy), (ax, ay) = cells[t - 2], cells[t - 1]
                if (ax - ox) * (py - oy) - (ay - oy) * (px - ox) > 0:
                    break
                t -= 1
        else:
            while t >= 2:
                (ax, ay), (bx, by) = cells[t - 1], cells[t - 2]
                if (ax - px) * (by - py) - (ay - py) * (bx - px) > 0:
                    break
                t -= 1
        if t < len(cells):
            self.log.append((t, cells[t], self.top))
            cells[t] = p
        else:
            self.log.append((t, None, self.top))
            cells.append(p)
        self.top = t + 1
        if t < self.low_water:  # noqa: PLR1730 (hot path: cheaper than min())
            self.low_water = t

    def undo(self) -> None:
        t, old, self.top = self.log.pop()
        if old is None:
            del self.cells[t]
        else:
            self.cells[t] = old
        self.low_water = min(self.low_water, t)

    def undo_to(self, pushes: int) -> None:
        while len(self.log) > pushes:
            self.undo()


class SlidingHull:
    """The exact lower convex hull of the points of a window of slots (see the module docstring)."""

    def __init__(self) -> None:
        self.keys: list[int] = []
        """The slots' keys, increasing (do not modify)."""
        self.points: list[Point] = []
        """The slots' points, in key order (do not modify)."""
        self._front = _UndoStack(rightward=False)  # slots [0, split), pushed from split - 1 down to 0
        self._back = _UndoStack(rightward=True)  # slots [split, n), pushed in order
        self._split = 0
        self._bridge: tuple[int, int] | None = None  # (front, back) cells of the last bridge, while still valid
        self.sum_x = 0
        """Sum of the points' x (their mean is ``sum_x / len``)."""

    def __len__(self) -> int:
        return len(self.points)

    def get(self, key: int) -> Point | None:
        keys = self.keys
        if not keys or key > keys[-1]:
            return None
        i = bisect_left(keys, key)
        return self.points[i] if i < len(keys) and keys[i] == key else None

    def put(self, key: int, point: Point) -> Point | None:
        """Set the point of slot ``key`` (x must keep increasing with the key); returns the point it replaced."""
        keys, points = self.keys, self.points
        if not keys or key > keys[-1]:  # a new slot on the right (most points): one push
            keys.append(key)
            points.append(point)
            self.sum_x += point[0]
            self._back.push(point)
            return None
        i = len(keys) - 1 if key == keys[-1] else bisect_left(keys, key)
        old = points[i] if keys[i] == key else None
        if old is None:
            keys.insert(i, key)
            points.insert(i, point)
        else:
            points[i] = point
            self.sum_x -= old[0]
        self.sum_x += point[0]
        if i < self._split:  # a slot held by the front changed: rebuild (a point more than a window late)
            self._refill()
            return old
        back = self._back
        back.undo_to(i - self._split)
        for p in points[i:]:
            back.push(p)
        return old

    def expire_before(self, key: int) -> list[Point]:
        """Drop every slot whose key is below ``key``; returns their points."""
        keys, points = self.keys, self.points
        gone: list[Point] = []
        if not keys or keys[0] >= key:
            return gone
        while keys and keys[0] < key:
            if self._split == 0:  # the front is empty: the back's points become the front
                self._front = _UndoStack(rightward=False)
                for p in reversed(points):
                    self._front.push(p)
                self._back = _UndoStack(rightward=True)
                self._split = len(points)
            self._front.undo()
            self._split -= 1
            del keys[0]
            gone.append(points.pop(0))
            self.sum_x -= gone[-1][0]
        return gone

    def clear(self) -> None:
        self.keys.clear()
        self.points.clear()
        self.sum_x = 0
        self._refill()

    def vertices(self) -> list[Point]:
        """The hull's vertices, left to right (collinear points are not vertices)."""
        front, back = self._front, self._back
        fc, ft, bc, bt = front.cells, front.top, back.cells, back.top
        if ft == 0:
            return bc[:bt]
        if bt == 0:
            return fc[ft - 1::-1]
        # fc[0] is the front's rightmost vertex, bc[0] the back's leftmost: walk both to the lower common tangent
        # (a vertex leaves when it does not turn counter-clockwise towards the other part).
        # While both parts are unchanged up to the last bridge, every point is still above it and only vertices
        # beyond it changed: the walk can start from it.
        bridge = self._bridge
        if bridge is not None and front.low_water > bridge[0] and back.low_water > bridge[1]:
            i, j = bridge
        else:
            i = j = 0
        (px, py), (qx, qy) = fc[i], bc[j]
        moved = True
        while moved:
            moved = False
            while i + 1 < ft:
                ox, oy = fc[i + 1]
                if (px - ox) * (qy - oy) - (py - oy) * (qx - ox) > 0:
                    break
                i += 1
                px, py = ox, oy
                moved = True
            while j + 1 < bt:
                rx, ry = bc[j + 1]
                if (qx - px) * (ry - py) - (qy - py) * (rx - px) > 0:
                    break
                j += 1
                qx, qy = rx, ry
                moved = True
        self._bridge = (i, j)
        front.low_water, back.low_water = len(fc), len(bc)
        return fc[ft - 1:i - 1 if i else None:-1] + bc[j:bt]

    def _refill(self) -> None:
        """Every point into the back, the front empty."""
        self._bridge = None
        self._front = _UndoStack(rightward=False)
        self._back = _UndoStack(rightward=True)
        self._split = 0
        for p in self.points:
            self._back.push(p)
