"""The LED clock board's definition (rigsync.boards.ledclock): the reference file, the timing it defines
(checked against brute-force sums over every step), the Gray counter, and the errors a malformed board file gives."""

from __future__ import annotations

import fnmatch
import importlib.resources
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest

from rigsync.boards.ledclock import DEFAULT_BOARD_PATH, LedClockBoard, default_board, load_board, loads_board
from rigsync.core.errors import RigFileError

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = DEFAULT_BOARD_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def board() -> LedClockBoard:
    return default_board()


def test_reference_board_is_the_documented_design(board: LedClockBoard) -> None:
    """boards/ledclock.toml is ledclock-a: 600 x 400 mm, DICT_4X4_50 markers 46-49 of 110 mm, five rows of 20 LEDs
    stepping at 10/40/160/640/2560 us fastest first, and a 16-bit Gray counter of the slowest row's cycle."""
    assert (ROOT / "boards" / "ledclock.toml").read_text(encoding="utf-8") == REFERENCE
    assert (board.name, board.width_mm, board.height_mm, board.crystal_hz) == ("ledclock-a", 600.0, 400.0, 16_000_000)
    assert (board.markers.dictionary, board.markers.ids, board.markers.size_mm) == ("DICT_4X4_50", (46, 47, 48, 49),
                                                                                    110.0)
    assert [(r.step_ns, r.leds) for r in board.rows] == [(s * 1000, 20) for s in (10, 40, 160, 640, 2560)]
    assert (board.counter.bits, board.counter.unit_ns) == (16, board.rows[-1].cycle_ns)
    assert len(board.layout().x_mm) == 5 * 20 + 16


def test_default_board_is_package_data() -> None:
    """The reference file ships inside the rigsync package: importlib.resources finds it and it loads."""
    resource = importlib.resources.files("rigsync.boards").joinpath("ledclock.toml")
    assert resource.is_file()
    assert loads_board(resource.read_text(encoding="utf-8")).name == "ledclock-a"


def test_pyproject_ships_every_board_file() -> None:
    """pyproject.toml's package data (what pip installs besides the modules) covers every board file of the
    package, and the package itself is found by setuptools (it has an __init__.py)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    globs = config["package-data"]["rigsync"]
    package = ROOT / "src" / "rigsync"
    boards = sorted(package.glob("boards/*.toml"))
    assert boards and (package / "boards" / "__init__.py").is_file()
    for path in boards:
        assert any(fnmatch.fnmatch(path.relative_to(package).as_posix(), g) for g in globs), path


def _brute_row(step: int, leds: int, start: int, end: int) -> np.ndarray:
    """Each LED's lit time in [start, end], summed step by step (LED k % leds lit during step k, k >= 0)."""
    lit = np.zeros(leds, dtype=np.int64)
    for k in range(max(start // step - 1, 0), end // step + 1):
        lit[k % leds] += max(0, min(end, (k + 1) * step) - max(start, k * step))
    return lit


def _brute_counter(bits: int, unit: int, start: int, end: int) -> np.ndarray:
    lit = np.zeros(bits, dtype=np.int64)
    for u in range(max(start // unit - 1, 0), end // unit + 1):
        overlap = max(0, min(end, (u + 1) * unit) - max(start, u * unit))
        value = u % (1 << bits)
        word = value ^ (value >> 1)
        lit += overlap * np.array([(word >> (bits - 1 - b)) & 1 for b in range(bits)])
    return lit


def _small_board() -> LedClockBoard:
    """A variant whose 4-bit counter wraps within 16 slow cycles, to test windows across the wrap."""
    text = REFERENCE.replace("bits = 16", "bits = 4").replace("unit_us = 51200", "unit_us = 25600")
    return loads_board(text, "small.toml")


@pytest.mark.parametrize("variant", ["reference", "small"])
def test_lit_ns_equals_a_sum_over_every_step(variant: str) -> None:
    """LedClockBoard.lit_ns gives every LED's lit time in random windows exactly as a step-by-step sum: windows
    of 0 to 3 slow cycles, across row cycles, counter steps and the counter's wrap, and before board time 0."""
    board = default_board() if variant == "reference" else _small_board()
    rng = np.random.default_rng(10)
    slow = board.rows[-1].cycle_ns
    wrap = board.counter.wrap_ns
    starts = np.concatenate([rng.integers(-slow, 3 * slow, 40), wrap - rng.integers(0, slow, 10),
                             board.counter.unit_ns * rng.integers(1, 40, 10) - rng.integers(0, 30_000, 10)])
    ends = starts + np.concatenate([rng.integers(0, 30_000, 30), rng.integers(0, 3 * slow, 30)])
    got = board.lit_ns(starts, ends)
    assert got.shape == (len(starts), len(board.layout().x_mm))
    for start, end, lit in zip(starts.tolist(), ends.tolist(), got, strict=True):
        parts = [_brute_row(r.step_ns, r.leds, max(start, 0), max(end, 0)) for r in board.rows]
        parts.append(_brute_counter(board.counter.bits, board.counter.unit_ns, max(start, 0), max(end, 0)))
        np.testing.assert_array_equal(lit, np.concatenate(parts), err_msg=f"window [{start}, {end}]")


def test_lit_ns_one_led_at_a_time(board: LedClockBoard) -> None:
    """Each row has exactly one LED lit at any board time >= 0: a row's lit times add up to the window's part
    after board time 0; an empty or reversed window lights nothing."""
    layout = board.layout()
    starts = np.array([-5_000, 0, 9_999, 123_456_789, 7_000])
    ends = np.array([5_000, 10, 10_001, 123_999_999, 6_000])
    lit = board.lit_ns(starts, ends)
    for r in range(len(board.rows)):
        np.testing.assert_array_equal(lit[:, layout.row == r].sum(axis=1), [5_000, 10, 2, 543_210, 0])
    assert not lit[-1].any()


def test_led_at_matches_lit_ns(board: LedClockBoard) -> None:
    """LedRow.led_at names the LED lit throughout the nanosecond at that board time, in every row."""
    layout = board.layout()
    for t in [0, 9_999, 10_000, 199_999, 200_000, 51_199_999, 51_200_000, 987_654_321]:
        lit = board.lit_ns(t, t + 1)
        for r, row in enumerate(board.rows):
            assert np.flatnonzero(lit[layout.row == r]).tolist() == [row.led_at(t)]


def test_counter_is_a_gray_code(board: LedClockBoard) -> None:
    """The counter's word changes in exactly one bit from each unit to the next (across its wrap too), decodes
    back to the unit count, and lights its LEDs top bit first."""
    c, layout = board.counter, board.layout()
    for u in [*range(0, 4096), *range((1 << 16) - 2048, (1 << 16) + 3)]:
        a, last, b = c.word(u * c.unit_ns), c.word((u + 1) * c.unit_ns - 1), c.word((u + 1) * c.unit_ns)
        assert a == last and bin(a ^ b).count("1") == 1, f"units {u} -> {u + 1}"
        assert c.decode(a) == u % (1 << 16)
    assert c.word(-1) == 0
    t = 5 * c.unit_ns  # 5 = 0b101, Gray 0b111: the three lowest bits lit
    on = board.lit_ns(t, t + 1)[layout.row == len(board.rows)]
    assert np.flatnonzero(on).tolist() == [13, 14, 15]


def test_streak_ends_give_exposure_start_and_end(board: LedClockBoard) -> None:
    """docs/ledclock.md's formula holds: in every row whose cycle exceeds the exposure (by two steps), the end LEDs'
    lit fractions of a full step give the exposure's start and end exactly, modulo the row's cycle (an exposure
    within one step shows only its duration)."""
    layout = board.layout()
    rng = np.random.default_rng(7)
    starts = rng.integers(0, 10 * board.rows[-1].cycle_ns, 200)
    ends = starts + np.concatenate([rng.integers(1, 30_000, 100), rng.integers(1, 40_000_000, 100)])
    checked: list[int] = []
    for start, end, lit in zip(starts.tolist(), ends.tolist(), board.lit_ns(starts, ends), strict=True):
        for r, row in enumerate(board.rows):
            if row.cycle_ns < end - start + 2 * row.step_ns:  # a dark LED shows where the streak starts
                continue
            on = lit[layout.row == r]
            dark = int(np.flatnonzero(on == 0)[0])
            run = [(dark + k) % row.leds for k in range(1, row.leds) if on[(dark + k) % row.leds] > 0]
            first, last = run[0], run[-1]
            if len(run) == 1:  # within one step: only the duration shows
                assert on[first] == end - start
                continue
            s = (first + 1) * row.step_ns - int(on[first])
            e = last * row.step_ns + int(on[last])
            assert (s - start) % row.cycle_ns == 0 and (e - end) % row.cycle_ns == 0
            checked.append(r)
    assert len(checked) > 250 and set(checked) == set(range(len(board.rows)))


def _replace(old: str, new: str) -> str:
    assert old in REFERENCE, old
    return REFERENCE.replace(old, new, 1)


BAD = [
    # (how the reference file is broken, field, shown value, words of the problem or the allowed values)
    ("extra = 1\n" + REFERENCE, "extra", "1", "allowed: board, counter, markers, rows"),
    (_replace('name = "ledclock-a"', 'name = "a"\ncolour = "red"'), "board.colour", '"red"', "allowed: crystal_hz"),
    (_replace("[counter]", "[counterz]"), "counterz", "{bits = 16", "allowed: board, counter, markers, rows"),
    (REFERENCE[:REFERENCE.index("[counter]")], "counter", "(missing)", "a [counter] table with bits, unit_us"),
    (_replace('name = "ledclock-a"\n', ""), "board.name", "(missing)", "required"),
    (_replace("leds = 20", 'leds = "20"'), "rows[0].leds", '"20"', "expected an integer, got a string"),
    (_replace("crystal_hz = 16_000_000", "crystal_hz = 16e6"), "board.crystal_hz", "16000000.0",
     "expected an integer"),
    (_replace("width_mm = 600.0", "width_mm = [600]"), "board.width_mm", "[600]", "expected a number"),
    (_replace("crystal_ppm = 30.0", "crystal_ppm = 3000.0"), "board.crystal_ppm", "3000.0", "allowed: 0 to 1000"),
    (_replace("[[rows]]", "[rows]"), "", "", "not valid TOML"),
    (_replace("y_mm = 165.0", "y_mm = 145.0"), "rows[1]", "(62.5, 145.0)",
     "LED 0 overlaps LED 0 of rows[0] (allowed: LED centres at least led_diameter_mm (10.0) apart)"),
    (_replace("y_mm = 265.0", "y_mm = 245.0"), "counter", "(112.5, 245.0)", "LED 0 overlaps LED 2 of rows[4]"),
    (_replace("pitch_mm = 25.0", "pitch_mm = 8.0"), "rows[0].pitch_mm", "8.0", "allowed: >= led_diameter_mm (10.0)"),
    (_replace("y_mm = 265.0\npitch_mm = 25.0", "y_mm = 265.0\npitch_mm = 9.0"), "counter.pitch_mm", "9.0",
     "allowed: >= led_diameter_mm (10.0)"),
    (_replace("leds = 20", "leds = 1_000_000_000"), "rows[0].leds", "1000000000", "do not fit across the board "
     "(allowed: at most 24)"),
    (_replace("leds = 20", "leds = 23"), "rows[0]", "(612.5, 140.0)", "LED 22 is off the board"),
    (_replace("margin_mm = 10.0", "margin_mm = -1.0"), "markers.margin_mm", "-1.0", "must be >= 0"),
    ("board = 5\n" + REFERENCE[REFERENCE.index("[markers]"):], "board", "5", "expected a table, got an integer"),
    ("rows = 5\n" + REFERENCE[:REFERENCE.index("[[rows]]")] + REFERENCE[REFERENCE.index("[counter]"):], "rows", "5",
     "expected an array of tables"),
    (_replace("x_mm = 112.5", "x_mm = 500.0"), "counter", "(600.0, 265.0)",
     "LED 4 is off the board (allowed: within 600.0 x 400.0 mm)"),
    (_replace("y_mm = 140.0", "y_mm = 60.0"), "rows[0]", "(62.5, 60.0)",
     "LED 0 lies on a marker (allowed: LEDs clear of the four markers)"),
    (_replace("step_us = 40\n", "step_us = 5\n"), "rows", "[10.0, 5.0, 160.0", "allowed: step_us strictly increasing"),
    (_replace("step_us = 40\n", "step_us = 10\n"), "rows", "[10.0, 10.0, 160.0", "step_us strictly increasing"),
    (_replace("leds = 20", "leds = 1"), "rows[0].leds", "1", "at least 2 LEDs"),
    (_replace('dictionary = "DICT_4X4_50"', 'dictionary = "DICT_4X4_5"'), "markers.dictionary", '"DICT_4X4_5"',
     "allowed: DICT_4X4_100, DICT_4X4_1000, DICT_4X4_250, DICT_4X4_50"),
    (_replace("ids = [46, 47, 48, 49]", "ids = [46, 47, 48, 50]"), "markers.ids", "[46, 47, 48, 50]",
     "four different ids of DICT_4X4_50 (allowed: 0 to 49)"),
    (_replace("ids = [46, 47, 48, 49]", "ids = [46, 47, 48, 46]"), "markers.ids", "[46, 47, 48, 46]",
     "four different ids of DICT_4X4_50 (allowed: 0 to 49)"),
    (_replace("ids = [46, 47, 48, 49]", "ids = [46, 47, 48]"), "markers.ids", "[46, 47, 48]",
     "needs four marker ids (allowed: top-left, top-right, bottom-right, bottom-left)"),
    (_replace("ids = [46, 47, 48, 49]", "ids = [46, 47, 48, true]"), "markers.ids", "[46, 47, 48, true]",
     "needs four marker ids"),
    (_replace("size_mm = 110.0", "size_mm = 200.0"), "markers.size_mm", "200.0",
     "do not fit on the board (allowed: > 0 and at most 190"),
    (_replace("step_us = 10\n", "step_us = 10.0005\n"), "rows[0].step_us", "10.0005",
     "whole number of nanoseconds (allowed: > 0, in steps of 0.001 us)"),
    (_replace("unit_us = 51200", "unit_us = 51200.0001"), "counter.unit_us", "51200.0001",
     "whole number of nanoseconds"),
    (_replace("step_us = 10\n", "step_us = -10\n"), "rows[0].step_us", "-10.0", "allowed: > 0"),
    (_replace("unit_us = 51200", "unit_us = inf"), "counter.unit_us", "inf", "not a finite number"),
    (_replace("unit_us = 51200", "unit_us = 60000"), "counter.unit_us", "60000.0",
     "allowed: <= 51200 or a multiple of it"),
    (_replace("bits = 16", "bits = 49"), "counter.bits", "49", "allowed: 1 to 48"),
]


@pytest.mark.parametrize(("text", "field", "value", "expected"), BAD, ids=[f"{i}-{b[1] or 'toml'}"
                                                                            for i, b in enumerate(BAD)])
def test_malformed_board_file_names_file_field_value_and_allowed(tmp_path: Path, text: str, field: str, value: str,
                                                                  expected: str) -> None:
    """Every malformed field of a board file raises a RigFileError that names the file, the field, the bad value
    and what is allowed (never a traceback from deeper down)."""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RigFileError) as caught:
        load_board(path)
    message = str(caught.value)
    assert caught.value.file == str(path) and caught.value.field == field
    prefix = f"{path}: {field} = {value}" if field else f"{path}: "
    assert message.startswith(prefix), message
    assert expected in message


def test_unreadable_board_file_is_named(tmp_path: Path) -> None:
    """A board file that cannot be read gives a RigFileError naming it and why."""
    with pytest.raises(RigFileError, match=re.escape(f"{tmp_path / 'none.toml'}: cannot read the board file")):
        load_board(tmp_path / "none.toml")
