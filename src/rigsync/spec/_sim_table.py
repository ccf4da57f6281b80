"""The rig file's ``[sim]`` table: the simulator's seed and render width, its flashes, LED clock and hand-held
board. Not public API (the loader's part for the simulator, apart so that the loader stays one concept)."""

from __future__ import annotations

from pathlib import Path

from rigsync.spec._table import Table
from rigsync.spec.model import LedClockSimSpec, SimBoardSpec, SimFlashSpec, SimSpec


def sim_table(top: Table, folder: Path) -> SimSpec:
    """The ``[sim]`` table (defaults when absent); ``folder``: the rig file's, for a board file's path."""
    t = top.table("sim", ("seed", "render_width", "max_drift_ppm", "ptp_running_s", "flashes", "ledclock", "board"))
    if t is None:
        return SimSpec()
    d = SimSpec()
    flashes = tuple(f.build(SimFlashSpec, at_s=f.number("at_s"),
                            duration_us=f.number("duration_us", SimFlashSpec.duration_us),
                            gain=f.number("gain", SimFlashSpec.gain))
                    for f in t.tables("flashes", ("at_s", "duration_us", "gain")))
    return t.build(SimSpec, seed=t.integer("seed", d.seed), render_width=t.integer("render_width", d.render_width),
                   max_drift_ppm=t.number("max_drift_ppm", d.max_drift_ppm),
                   ptp_running_s=t.number("ptp_running_s", d.ptp_running_s), flashes=flashes,
                   ledclock=_ledclock(t, folder), board=_board(t))


def _board(sim: Table) -> SimBoardSpec | None:
    """``board = true`` (the defaults), ``false`` or absent (the upright board), or a ``[sim.board]`` table."""
    value = sim.data.get("board", False)
    if isinstance(value, bool):
        return SimBoardSpec() if value else None
    t = sim.table("board", ("motion", "center_m", "reach_m", "tilt_deg", "heading_deg", "spin_s"))
    assert t is not None  # present, and not a boolean: a table or a type error
    d = SimBoardSpec()
    return t.build(SimBoardSpec, motion=t.text("motion", d.motion), center_m=t.vec3("center_m", d.center_m),
                   reach_m=t.vec3("reach_m", d.reach_m), tilt_deg=t.number("tilt_deg", d.tilt_deg),
                   heading_deg=t.number("heading_deg", d.heading_deg), spin_s=t.number("spin_s", d.spin_s))


def _ledclock(sim: Table, folder: Path) -> LedClockSimSpec | None:
    """``ledclock = true`` (the defaults), ``false`` or absent (none), or a ``[sim.ledclock]`` table."""
    value = sim.data.get("ledclock", False)
    if isinstance(value, bool):
        return LedClockSimSpec() if value else None
    t = sim.table("ledclock", ("board", "center", "faces", "drift_ppm", "offset_s", "noise"))
    assert t is not None  # present, and not a boolean: a table or a type error
    d = LedClockSimSpec()
    board = t.text("board", None)
    if board is not None:
        from rigsync.boards.ledclock import load_board  # the board model reads files with the spec's tables

        resolved = folder / board
        if not resolved.is_file():
            raise t.error("board", board, f"no such board file ({resolved})", "a board file such as "
                          "boards/ledclock.toml, relative to the rig file")
        load_board(resolved)  # its errors name the board file and its field
        board = str(resolved)
    return t.build(LedClockSimSpec, board=board, center=t.vec3("center", None), faces=t.str_list("faces", d.faces),
                   drift_ppm=t.number("drift_ppm", None), offset_s=t.number("offset_s", None),
                   noise=t.number("noise", d.noise))
