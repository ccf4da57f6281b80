"""The rig file's ``[sim]`` table: the simulator's seed and render width, its flashes and its LED clock. Not public
API (the loader's part for the simulator, apart so that the loader stays one concept)."""

from __future__ import annotations

from pathlib import Path

from rigsync.spec._table import Table
from rigsync.spec.model import LedClockSimSpec, SimFlashSpec, SimSpec


def sim_table(top: Table, folder: Path) -> SimSpec:
    """The ``[sim]`` table (defaults when absent); ``folder``: the rig file's, for a board file's path."""
    t = top.table("sim", ("seed", "render_width", "max_drift_ppm", "ptp_running_s", "flashes", "ledclock"))
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
                   ledclock=_ledclock(t, folder))


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
