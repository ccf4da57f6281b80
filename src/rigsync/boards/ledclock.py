"""The LED clock board: four ArUco markers, rows of running lights and a Gray-coded counter, on its own crystal.

The board is described by a file (``boards/ledclock.toml`` is the reference design; docs/ledclock.md tells
how to build it). Everything here is the board's *definition*, pure and shared: where each LED is on the
face, and which LED is lit at each instant of **board time** (integer nanoseconds of the board's own crystal
since its firmware started the rows; the board knows nothing of the rig's clocks).

* A row of ``leds`` LEDs steps every ``step_ns``: LED ``i`` is lit during
  ``[k * cycle_ns + i * step_ns, k * cycle_ns + (i + 1) * step_ns)`` for every ``k >= 0``. An exposure
  therefore shows a lit streak from its start to its end in every row whose cycle is longer than the
  exposure; :meth:`LedRow.lit_ns` gives how long each LED is lit inside any window.
* The counter shows ``floor(t / unit_ns) mod 2**bits`` Gray-coded, most significant bit at the left, so an
  exposure across a change blurs exactly one bit.

Face coordinates are millimetres: x to the right, y down, origin at the board's top-left corner, as seen
from the front.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from rigsync.boards._file import read_board_file
from rigsync.core.errors import MISSING, RigFileError
from rigsync.spec._table import Table

__all__ = [
    "DEFAULT_BOARD_PATH",
    "GrayCounter",
    "LedClockBoard",
    "LedLayout",
    "LedRow",
    "Markers",
    "default_board",
    "load_board",
    "loads_board",
]

DEFAULT_BOARD_PATH = Path(__file__).with_name("ledclock.toml")
"""The reference design (also at ``boards/ledclock.toml`` in the repository)."""

I64 = npt.NDArray[np.int64]


def _require(ok: bool, file: str, field: str, value: object, problem: str, allowed: str | None = None) -> None:
    if not ok:
        raise RigFileError(file, field, value, problem, allowed)


@dataclass(frozen=True, slots=True)
class LedRow:
    """One row of running lights: exactly one LED lit at a time, stepping every ``step_ns`` of board time."""

    step_ns: int
    leds: int
    x_mm: float
    """Centre of LED 0."""
    y_mm: float
    pitch_mm: float
    """Centre-to-centre distance; LED ``i`` is at ``x_mm + i * pitch_mm``."""

    @property
    def cycle_ns(self) -> int:
        return self.step_ns * self.leds

    def led_x_mm(self) -> npt.NDArray[np.float64]:
        return self.x_mm + self.pitch_mm * np.arange(self.leds, dtype=np.float64)

    def led_at(self, board_ns: int) -> int:
        """The LED lit at board time ``board_ns`` (>= 0)."""
        return int(board_ns % self.cycle_ns) // self.step_ns

    def lit_before(self, led: npt.ArrayLike, board_ns: npt.ArrayLike) -> I64:
        """Total time LED ``led`` has been lit from board time 0 up to ``board_ns`` (negative times: 0)."""
        t = np.maximum(np.asarray(board_ns, dtype=np.int64), 0)
        i = np.asarray(led, dtype=np.int64)
        whole, phase = np.divmod(t, self.cycle_ns)
        return np.asarray(whole * self.step_ns + np.clip(phase - i * self.step_ns, 0, self.step_ns), dtype=np.int64)

    def lit_ns(self, led: npt.ArrayLike, start_ns: npt.ArrayLike, end_ns: npt.ArrayLike) -> I64:
        """How long LED ``led`` is lit within ``[start_ns, end_ns]`` of board time (numpy broadcasting; an empty
        window, ``end_ns <= start_ns``, gives 0)."""
        t0 = np.asarray(start_ns, dtype=np.int64)
        return self.lit_before(led, np.maximum(np.asarray(end_ns, dtype=np.int64), t0)) - self.lit_before(led, t0)


@dataclass(frozen=True, slots=True)
class GrayCounter:
    """Board time in units of ``unit_ns``, modulo ``2**bits``, Gray-coded; LED 0 (left) is the top bit."""

    bits: int
    unit_ns: int
    x_mm: float
    y_mm: float
    pitch_mm: float

    @property
    def wrap_ns(self) -> int:
        return self.unit_ns << self.bits

    def led_x_mm(self) -> npt.NDArray[np.float64]:
        return self.x_mm + self.pitch_mm * np.arange(self.bits, dtype=np.float64)

    def units(self, board_ns: int) -> int:
        return (max(int(board_ns), 0) // self.unit_ns) & ((1 << self.bits) - 1)

    def word(self, board_ns: int) -> int:
        """The Gray-coded word shown at ``board_ns`` (bit ``bits - 1`` is LED 0)."""
        u = self.units(board_ns)
        return u ^ (u >> 1)

    def decode(self, word: int) -> int:
        """Units from a Gray-coded word (the inverse of :meth:`word`, modulo the wrap)."""
        u, shift = word, 1
        while shift < self.bits:
            u ^= u >> shift
            shift <<= 1
        return u

    def lit_ns(self, led: int, start_ns: npt.ArrayLike, end_ns: npt.ArrayLike) -> I64:
        """How long counter LED ``led`` (0 = top bit) is lit within ``[start_ns, end_ns]`` of board time."""
        t0 = np.maximum(np.asarray(start_ns, dtype=np.int64), 0)
        t1 = np.maximum(np.asarray(end_ns, dtype=np.int64), t0)
        first, last = t0 // self.unit_ns, t1 // self.unit_ns
        total = np.zeros(np.broadcast(t0, t1).shape, dtype=np.int64)
        shift = self.bits - 1 - led
        mask = (1 << self.bits) - 1
        for j in range(int(np.max(last - first)) + 1 if total.size else 0):
            unit = first + j
            lo = np.maximum(t0, unit * self.unit_ns)
            hi = np.minimum(t1, (unit + 1) * self.unit_ns)
            value = unit & mask
            on = ((value ^ (value >> 1)) >> shift) & 1
            total += np.where((unit <= last) & (on == 1), np.maximum(hi - lo, 0), 0)
        return total


@dataclass(frozen=True, slots=True)
class Markers:
    """Four ArUco markers near the corners: ids top-left, top-right, bottom-right, bottom-left."""

    dictionary: str
    ids: tuple[int, int, int, int]
    size_mm: float
    """Edge of the black square (the marker including its one-bit black border)."""
    margin_mm: float
    """From the board's edge to the marker."""

    def corners_mm(self, width_mm: float, height_mm: float) -> dict[int, npt.NDArray[np.float64]]:
        """Each marker's corners on the face, (4, 2), in ArUco order: top-left, top-right, bottom-right,
        bottom-left of the marker as printed."""
        m, s = self.margin_mm, self.size_mm
        origins = ((m, m), (width_mm - m - s, m), (width_mm - m - s, height_mm - m - s), (m, height_mm - m - s))
        square = np.array([[0.0, 0.0], [s, 0.0], [s, s], [0.0, s]])
        return {marker: square + np.array(origin) for marker, origin in zip(self.ids, origins, strict=True)}


@dataclass(frozen=True, slots=True)
class LedLayout:
    """Every LED of the board as flat arrays: the rows' LEDs first (row by row), then the counter's."""

    row: npt.NDArray[np.intp]
    """Index into ``LedClockBoard.rows``, or ``len(rows)`` for a counter LED."""
    led: npt.NDArray[np.intp]
    """Index within its row (or the counter bit, 0 = top bit)."""
    x_mm: npt.NDArray[np.float64]
    y_mm: npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LedClockBoard:
    """An LED clock board as its file describes it (see the module docstring for the timing)."""

    name: str
    width_mm: float
    height_mm: float
    led_diameter_mm: float
    crystal_hz: int
    crystal_ppm: float
    """The crystal's tolerance: how far board time may run from true time, in parts per million."""
    markers: Markers
    rows: tuple[LedRow, ...]
    """Fastest first."""
    counter: GrayCounter
    path: str = "<board>"
    """The file it was read from (for messages)."""

    def __post_init__(self) -> None:
        f = self.path
        _require(self.width_mm > 0 and self.height_mm > 0, f, "board.width_mm", (self.width_mm, self.height_mm),
                 "the board needs a positive size")
        _require(self.led_diameter_mm > 0, f, "board.led_diameter_mm", self.led_diameter_mm, "must be > 0")
        _require(self.crystal_hz > 0, f, "board.crystal_hz", self.crystal_hz, "must be > 0")
        _require(0 <= self.crystal_ppm <= 1000, f, "board.crystal_ppm", self.crystal_ppm, "out of range", "0 to 1000")
        _require(len(self.rows) >= 1, f, "rows", [], "a board needs at least one row")
        steps = [r.step_ns for r in self.rows]
        _require(steps == sorted(set(steps)), f, "rows", [s / 1000 for s in steps],
                 "rows must be listed fastest first, each with its own step", "step_us strictly increasing")
        for n, row in enumerate(self.rows):
            _require(row.step_ns > 0, f, f"rows[{n}].step_us", row.step_ns / 1000, "must be > 0")
            _require(row.leds >= 2, f, f"rows[{n}].leds", row.leds, "a row needs at least 2 LEDs")
            _require(row.pitch_mm >= self.led_diameter_mm, f, f"rows[{n}].pitch_mm", row.pitch_mm,
                     "LEDs would overlap", f">= led_diameter_mm ({self.led_diameter_mm})")
            fit = int((self.width_mm - self.led_diameter_mm) // row.pitch_mm) + 1
            _require(row.leds <= fit, f, f"rows[{n}].leds", row.leds,
                     f"{row.leds} LEDs {row.pitch_mm} mm apart do not fit across the board", f"at most {fit}")
        c = self.counter
        _require(1 <= c.bits <= 48, f, "counter.bits", c.bits, "out of range", "1 to 48")
        _require(c.pitch_mm >= self.led_diameter_mm, f, "counter.pitch_mm", c.pitch_mm,
                 "LEDs would overlap", f">= led_diameter_mm ({self.led_diameter_mm})")
        _require(c.unit_ns > 0, f, "counter.unit_us", c.unit_ns / 1000, "must be > 0")
        _require(c.unit_ns % self.rows[-1].cycle_ns == 0 or c.unit_ns <= self.rows[-1].cycle_ns, f,
                 "counter.unit_us", c.unit_ns / 1000,
                 "must be at most the slowest row's cycle or a multiple of it (else a time between two counts "
                 "is ambiguous)", f"<= {self.rows[-1].cycle_ns / 1000:g} or a multiple of it")
        names = sorted(n for n in dir(cv2.aruco) if n.startswith("DICT_"))
        m = self.markers
        _require(m.dictionary in names, f, "markers.dictionary", m.dictionary, "unknown dictionary", ", ".join(names))
        size = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, m.dictionary)).bytesList.shape[0]
        _require(len(set(m.ids)) == 4 and all(0 <= i < size for i in m.ids), f, "markers.ids", list(m.ids),
                 f"needs four different ids of {m.dictionary}", f"0 to {size - 1}")
        _require(m.margin_mm >= 0, f, "markers.margin_mm", m.margin_mm, "must be >= 0")
        room = min(self.width_mm, self.height_mm) / 2 - m.margin_mm
        _require(0 < m.size_mm <= room, f, "markers.size_mm", m.size_mm, "the markers do not fit on the board",
                 f"> 0 and at most {room:g} (half the board's shorter side less margin_mm)")
        layout = self.layout()
        r = self.led_diameter_mm / 2
        inside = ((layout.x_mm - r >= 0) & (layout.x_mm + r <= self.width_mm)
                  & (layout.y_mm - r >= 0) & (layout.y_mm + r <= self.height_mm))
        for k in np.flatnonzero(~inside)[:1]:
            _require(False, f, self._led_field(int(layout.row[k])), (float(layout.x_mm[k]), float(layout.y_mm[k])),
                     f"LED {int(layout.led[k])} is off the board", f"within {self.width_mm} x {self.height_mm} mm")
        self._check_overlaps()
        for corners in m.corners_mm(self.width_mm, self.height_mm).values():
            (x0, y0), (x1, y1) = corners[0] - r, corners[2] + r
            hit = (layout.x_mm > x0) & (layout.x_mm < x1) & (layout.y_mm > y0) & (layout.y_mm < y1)
            for k in np.flatnonzero(hit)[:1]:
                _require(False, f, self._led_field(int(layout.row[k])),
                         (float(layout.x_mm[k]), float(layout.y_mm[k])),
                         f"LED {int(layout.led[k])} lies on a marker", "LEDs clear of the four markers")

    def _check_overlaps(self) -> None:
        """LEDs of different rows (or a row and the counter) at least ``led_diameter_mm`` apart; each line of
        LEDs is evenly spaced, so the LED nearest to a point is found arithmetically (no all-pairs matrix)."""
        d = self.led_diameter_mm
        lines = [(f"rows[{n}]", r.x_mm, r.y_mm, r.pitch_mm, r.leds) for n, r in enumerate(self.rows)]
        c = self.counter
        lines.append(("counter", c.x_mm, c.y_mm, c.pitch_mm, c.bits))
        for b, (field, xb, yb, pb, nb) in enumerate(lines):
            xs = xb + pb * np.arange(nb)
            for other, xa, ya, pa, na in lines[:b]:
                if abs(ya - yb) >= d:
                    continue
                near = np.clip(np.rint((xs - xa) / pa), 0, na - 1)
                for k in np.flatnonzero(np.hypot(xs - (xa + pa * near), yb - ya) < d)[:1]:
                    _require(False, self.path, field, (float(xs[k]), yb),
                             f"LED {k} overlaps LED {int(near[k])} of {other}",
                             f"LED centres at least led_diameter_mm ({d}) apart")

    def _led_field(self, row: int) -> str:
        return "counter" if row == len(self.rows) else f"rows[{row}]"

    def layout(self) -> LedLayout:
        """Every LED's row, index and centre on the face."""
        rows: list[LedRow | GrayCounter] = [*self.rows, self.counter]
        counts = [r.leds if isinstance(r, LedRow) else r.bits for r in rows]
        return LedLayout(
            row=np.repeat(np.arange(len(rows)), counts).astype(np.intp),
            led=np.concatenate([np.arange(n) for n in counts]).astype(np.intp),
            x_mm=np.concatenate([r.led_x_mm() for r in rows]),
            y_mm=np.concatenate([np.full(n, r.y_mm) for r, n in zip(rows, counts, strict=True)]),
        )

    def lit_ns(self, start_ns: npt.ArrayLike, end_ns: npt.ArrayLike) -> I64:
        """How long every LED of :meth:`layout` is lit within each window ``[start_ns, end_ns]`` of board time.

        ``start_ns`` and ``end_ns`` broadcast against each other (say, one window per image row); the result
        has their shape plus a last axis over the LEDs, in layout order."""
        t0 = np.asarray(start_ns, dtype=np.int64)[..., None]
        t1 = np.asarray(end_ns, dtype=np.int64)[..., None]
        parts = [row.lit_ns(np.arange(row.leds), t0, t1) for row in self.rows]
        parts += [self.counter.lit_ns(b, t0, t1) for b in range(self.counter.bits)]
        return np.concatenate([np.broadcast_to(p, np.broadcast(t0, t1, p).shape) for p in parts], axis=-1)


_KEYS = {
    "board": ("name", "width_mm", "height_mm", "led_diameter_mm", "crystal_hz", "crystal_ppm"),
    "markers": ("dictionary", "ids", "size_mm", "margin_mm"),
    "rows": ("step_us", "leds", "x_mm", "y_mm", "pitch_mm"),
    "counter": ("bits", "unit_us", "x_mm", "y_mm", "pitch_mm"),
}
"""The keys each table of a board file may hold (all of them required)."""


def _row(t: Table) -> LedRow:
    return LedRow(step_ns=_us_to_ns(t, "step_us"), leds=t.integer("leds"), x_mm=t.number("x_mm"),
                  y_mm=t.number("y_mm"), pitch_mm=t.number("pitch_mm"))


def _us_to_ns(t: Table, key: str) -> int:
    value = float(t.number(key))
    ns = round(value * 1000)
    if ns <= 0 or abs(ns - value * 1000) > 1e-12 * max(1.0, abs(value) * 1000):  # float rounding only
        raise t.error(key, value, "must be a positive whole number of nanoseconds", "> 0, in steps of 0.001 us")
    return ns


def loads_board(text: str, path: str = "<board>") -> LedClockBoard:
    """Read a board file's text. Raises :class:`~rigsync.core.errors.RigFileError` naming the field."""
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RigFileError(path, "", None, f"not valid TOML: {exc}") from None
    top = Table(path, "", data, ("board", "markers", "rows", "counter"))
    board, markers, counter = (top.table(key, _KEYS[key]) for key in ("board", "markers", "counter"))
    for key, table in (("board", board), ("markers", markers), ("counter", counter)):
        if table is None:
            raise RigFileError(path, key, MISSING, "required table missing",
                               f"a [{key}] table with {', '.join(_KEYS[key])}")
    assert board is not None and markers is not None and counter is not None  # checked just above
    ids = markers._get("ids", MISSING)  # absent: "required"
    if not (isinstance(ids, list) and len(ids) == 4 and all(isinstance(i, int) and not isinstance(i, bool)
                                                            for i in ids)):
        raise markers.error("ids", ids, "needs four marker ids", "top-left, top-right, bottom-right, bottom-left")
    return LedClockBoard(
        name=board.text("name"),
        width_mm=board.number("width_mm"),
        height_mm=board.number("height_mm"),
        led_diameter_mm=board.number("led_diameter_mm"),
        crystal_hz=board.integer("crystal_hz"),
        crystal_ppm=board.number("crystal_ppm"),
        markers=Markers(dictionary=markers.text("dictionary"), ids=(ids[0], ids[1], ids[2], ids[3]),
                        size_mm=markers.number("size_mm"), margin_mm=markers.number("margin_mm")),
        rows=tuple(_row(t) for t in top.tables("rows", _KEYS["rows"])),
        counter=GrayCounter(bits=counter.integer("bits"), unit_ns=_us_to_ns(counter, "unit_us"),
                            x_mm=counter.number("x_mm"), y_mm=counter.number("y_mm"),
                            pitch_mm=counter.number("pitch_mm")),
        path=path,
    )


def load_board(path: str | Path) -> LedClockBoard:
    """Read a board file. Raises :class:`~rigsync.core.errors.RigFileError` naming the file and field."""
    return loads_board(read_board_file(path), str(path))


def default_board() -> LedClockBoard:
    """The reference design, ``ledclock-a``."""
    return load_board(DEFAULT_BOARD_PATH)
