"""The LED clock's reference firmware (boards/firmware/avr) against the board file's model.

Three levels: its timing logic compiled for the host and stepped tick by tick (every latched row and the
counter, against ``LedRow.led_at`` and ``GrayCounter.word``); the AVR build with Debian's gcc-avr (it must
fit an ATmega328P); and the AVR build run in simavr, whose pin trace (VCD) is read back through a model of the
74HC595 chain to check the clock edges and the LEDs every tick shows. Tools missing locally skip, saying what
to install; in CI (``CI`` set) a missing tool fails, since .ci/run installs them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

from rigsync.boards.ledclock import LedClockBoard, default_board

ROOT = Path(__file__).resolve().parents[2]
FIRMWARE = ROOT / "boards" / "firmware" / "avr"
HARNESS = Path(__file__).with_name("c")
FLASH_BYTES = 32768 - 2048
"""ATmega328P flash less the largest Arduino bootloader (the old Nano's 2 KB)."""
RAM_BYTES = 2048 - 256
"""ATmega328P SRAM less room for the stack."""
CYCLE_NS = 62.5
"""One cycle of the 16 MHz crystal."""


def _need(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        reason = f"{tool} not installed (apt-get install {package}); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


def _make(out: Path, extra_cflags: str = "", extra_src: str = "") -> Path:
    _need("avr-gcc", "gcc-avr avr-libc")
    subprocess.run(["make", "-s", "-C", str(FIRMWARE), f"OUT={out}", f"EXTRA_CFLAGS={extra_cflags}",
                    f"EXTRA_SRC={extra_src}"], check=True, capture_output=True, text=True)
    return out / "ledclock.elf"


@pytest.fixture(scope="module")
def board() -> LedClockBoard:
    return default_board()


@pytest.fixture(scope="module")
def host_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The firmware's timing logic with the host driver of tests/boards/c/host_check.c."""
    cc = _need("gcc", "gcc")
    exe = tmp_path_factory.mktemp("host") / "host_check"
    subprocess.run([cc, "-std=c11", "-O2", "-Wall", "-Wextra", "-Werror", f"-I{FIRMWARE}", "-o", str(exe),
                    str(HARNESS / "host_check.c"), str(FIRMWARE / "ledclock_logic.c")], check=True)
    return exe


def _run_host(exe: Path, ticks: list[int]) -> tuple[list[str], list[list[str]]]:
    out = subprocess.run([str(exe)], input="".join(f"{t}\n" for t in ticks), capture_output=True, text=True,
                         check=True).stdout.splitlines()
    end = out.index("end")
    return out[:end], [line.split() for line in out[end + 1:]]


def test_firmware_header_matches_the_board_file(host_check: Path, board: LedClockBoard) -> None:
    """ledclock_board.h holds the board file's crystal, every row's step and LED count, and the counter."""
    header, _ = _run_host(host_check, [])
    rows = [(int(w[1]), int(w[2])) for w in (line.split() for line in header) if w[0] == "row"]
    assert rows == [(r.step_ns, r.leds) for r in board.rows]
    assert f"crystal_hz {board.crystal_hz}" in header
    assert f"counter {board.counter.bits} {board.counter.unit_ns}" in header
    total, offset, nbytes = (int(v) for v in next(h for h in header if h.startswith("chain")).split()[1:])
    assert total == offset == sum(r.leds for r in board.rows[2:])
    assert nbytes * 8 >= offset + board.counter.bits


def _expected(board: LedClockBoard, board_ns: int) -> tuple[list[int], int]:
    return [r.led_at(board_ns) for r in board.rows[2:]], board.counter.word(board_ns)


def _chain_bits(hex_bytes: str) -> list[int]:
    data = bytes.fromhex(hex_bytes)
    return [(data[j // 8] >> (j % 8)) & 1 for j in range(len(data) * 8)]


def _leds_from_chain(board: LedClockBoard, bits: list[int]) -> tuple[list[int | None], int]:
    """The latched rows' lit LEDs (None unless exactly one is lit) and the counter's word, from the chain."""
    leds: list[int | None] = []
    j = 0
    for row in board.rows[2:]:
        lit = [i for i in range(row.leds) if bits[j + i]]
        leds.append(lit[0] if len(lit) == 1 else None)
        j += row.leds
    word = 0
    for b in range(board.counter.bits):
        word = (word << 1) | bits[j + b]
    assert not any(bits[j + board.counter.bits:]), "unused outputs of the chain stay dark"
    return leds, word


def test_host_logic_matches_the_board_model_every_tick(host_check: Path, board: LedClockBoard) -> None:
    """Stepped tick by tick, the firmware lights the LEDs the board model lights, across every row's wrap, the
    counter's steps and its 16-bit wrap (tested at 1 and 2 wraps), with the chain's bits in the documented order."""
    tick_ns = board.rows[2].step_ns
    unit = board.counter.unit_ns // tick_ns
    wrap = unit << board.counter.bits
    ticks = sorted({*range(3000), *(k * unit + d for k in (17, 255, 256, 4095) for d in (-1, 0, 1)),
                    *(m * wrap + d for m in (1, 2) for d in range(-2 * unit, 2 * unit, 7))})
    _, lines = _run_host(host_check, ticks)
    assert [int(w[0]) for w in lines] == ticks
    rows = len(board.rows) - 2
    for w in lines:
        t_ns = int(w[0]) * tick_ns
        expected = _expected(board, t_ns)
        assert ([int(v) for v in w[1:1 + rows]], int(w[1 + rows])) == expected, f"tick {w[0]}"
        assert _leds_from_chain(board, _chain_bits(w[2 + rows])) == expected, f"chain at tick {w[0]}"


def test_avr_build_fits_the_atmega328p(tmp_path: Path) -> None:
    """The Makefile builds the firmware with avr-gcc (warnings are errors) into a flash and RAM image that fits."""
    elf = _make(tmp_path)
    assert (tmp_path / "ledclock.hex").stat().st_size > 0
    text, data, bss = (int(v) for v in subprocess.run(
        [_need("avr-size", "binutils-avr"), str(elf)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[1].split()[:3])
    assert 0 < text + data <= FLASH_BYTES
    assert data + bss <= RAM_BYTES


def _vcd(path: Path) -> dict[str, list[tuple[float, int]]]:
    """Each traced pin's changes as (ns, level)."""
    names: dict[str, str] = {}
    changes: dict[str, list[tuple[float, int]]] = defaultdict(list)
    scale_ns, t = 1.0, 0.0
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.startswith("$timescale"):
            value = line.split()[1]
            scale_ns = float(value.rstrip("nsu")) * (1000.0 if value.endswith("us") else 1.0)
        elif line.startswith("$var"):
            parts = line.split()
            names[parts[3]] = parts[4]
        elif line.startswith("#"):
            t = int(line[1:]) * scale_ns
        elif line[:1] in ("0", "1") and line[1:] in names:
            changes[names[line[1:]]].append((t, int(line[0])))
    return changes


def _rises(changes: list[tuple[float, int]]) -> list[float]:
    return [t for (t, v), (_, before) in zip(changes[1:], changes, strict=False) if v == 1 and before == 0]


@pytest.fixture(scope="module")
def simavr_trace(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[float, int]]]:
    """The firmware built with simavr's trace section, run for 700 ticks (112 ms: past the slowest row's wrap
    and two counter steps) in simavr."""
    simavr = _need("simavr", "simavr")
    if not Path("/usr/include/simavr/avr/avr_mcu_section.h").exists():
        reason = "simavr's avr_mcu_section.h not installed (apt-get install libsimavr-dev); .ci/run installs it"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    out = tmp_path_factory.mktemp("simavr")
    elf = _make(out, "-DLC_SIM_TICKS=700 -idirafter /usr/include/simavr "
                     "-Wl,--undefined=_mmcu,--section-start=.mmcu=0x910000", str(HARNESS / "simavr_trace.c"))
    subprocess.run([simavr, str(elf)], cwd=out, check=True, capture_output=True, timeout=120)
    return _vcd(out / "ledclock.vcd")


SIM_SLACK_NS = 4 * CYCLE_NS
"""simavr updates timer outputs between instructions, so an edge may show up to an instruction (<= 4 cycles)
late; on the chip the output-compare hardware sets them on the cycle."""


def _start(trace: dict[str, list[tuple[float, int]]]) -> float:
    """When the timers started: simavr (1.6) sets a fast-PWM output as its timer starts (the firmware forced
    them high before, which simavr does not model), so Timer1's start is the latch's first rise."""
    return _rises(trace["rclk"])[0]


@pytest.mark.parametrize(("pin", "row"), [("row0_clk", 0), ("row1_clk", 1), ("rclk", 2)])
def test_simavr_clock_edges_every_step(simavr_trace: dict[str, list[tuple[float, int]]], board: LedClockBoard,
                                       pin: str, row: int) -> None:
    """In simavr each row clock (and the chain's latch) rises once per step of its row in the board file, on
    the step to within an instruction, with no edge missed or extra, for the whole 112 ms run."""
    step_ns = board.rows[row].step_ns
    start = _start(simavr_trace)
    rises = [t for t in _rises(simavr_trace[pin]) if t >= start - 5_000]  # its timer starts within 5 us
    first = rises[0]
    errors = [t - first - n * step_ns for n, t in enumerate(rises)]
    assert max(abs(e) for e in errors) <= SIM_SLACK_NS
    assert len(rises) >= 690 * board.rows[2].step_ns // step_ns


def test_simavr_chain_shows_the_board_model_every_tick(simavr_trace: dict[str, list[tuple[float, int]]],
                                                       board: LedClockBoard) -> None:
    """The 74HC595 chain, driven by the simulated pins, latches at each tick the LEDs the board model lights in
    the latched rows and the counter, for 700 ticks; the interrupt finishes shifting with time to spare and
    the overrun LED stays dark."""
    events = sorted([(t, 0, v) for t, v in simavr_trace["ser"]]
                    + [(t, 1, 1) for t in _rises(simavr_trace["srclk"])]
                    + [(t, 2, 1) for t in _rises(simavr_trace["rclk"])])
    ser, shift, latched, last_shift = 0, [0] * 80, [], 0.0
    for t, kind, v in events:
        if kind == 0:
            ser = v
        elif kind == 1:
            shift, last_shift = [ser, *shift[:-1]], t
        else:
            latched.append((t, last_shift, list(shift)))
    start, tick_ns = _start(simavr_trace), board.rows[2].step_ns
    assert len(latched) >= 690
    margins = []
    for n, (t, shifted_at, bits) in enumerate(latched[1:690], start=1):  # [0]: simavr's edge as Timer1 starts
        assert abs(t - start - n * tick_ns) <= SIM_SLACK_NS
        assert _leds_from_chain(board, bits) == _expected(board, n * tick_ns), f"tick {n}"
        margins.append(t - shifted_at)
    assert min(margins[1:]) > 20_000, "the interrupt leaves > 20 us of each 160 us tick"
    assert all(v == 0 for _, v in simavr_trace["overrun"])
