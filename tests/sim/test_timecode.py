"""The visual timecode: Gray-coded true time, floored to 100 us units, wrapping at 32 bits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rigsync.drivers.sim import timecode
from rigsync.drivers.sim.timecode import (
    TIMECODE_BITS,
    TIMECODE_UNIT_NS,
    TIMECODE_WRAP_NS,
    decode,
    decode_word,
    encode,
    gray_word,
    unwrap_ns,
)

times_ns = st.integers(min_value=-(2**62), max_value=2**62)


def test_unit_is_at_least_one_kilohertz() -> None:
    """The timecode resolves true time to 1 ms or better, with 32 cells."""
    assert TIMECODE_UNIT_NS <= 1_000_000
    assert TIMECODE_BITS == 32
    assert len(encode(0)) == TIMECODE_BITS


@given(times_ns)
def test_round_trip(t_ns: int) -> None:
    """decode(encode(t)) is t in whole units, floored, modulo 2**32 (negative times included)."""
    assert decode(encode(t_ns)) == (t_ns // TIMECODE_UNIT_NS) % 2**TIMECODE_BITS
    floored_ns = t_ns - t_ns % TIMECODE_UNIT_NS
    assert decode(encode(t_ns)) * TIMECODE_UNIT_NS == floored_ns % TIMECODE_WRAP_NS


@given(times_ns)
def test_word_and_bits_agree(t_ns: int) -> None:
    """gray_word packs exactly the bits encode returns, most significant first."""
    word = gray_word(t_ns)
    assert encode(t_ns) == tuple((word >> (TIMECODE_BITS - 1 - i)) & 1 for i in range(TIMECODE_BITS))
    assert decode_word(word) == timecode.units(t_ns)


@given(st.integers(min_value=0, max_value=2**TIMECODE_BITS - 1))
def test_adjacent_codes_differ_in_one_bit(u: int) -> None:
    """Consecutive units (including the wrap from 2**32 - 1 to 0) differ in exactly one cell."""
    a = encode(u * TIMECODE_UNIT_NS)
    b = encode((u + 1) * TIMECODE_UNIT_NS)
    assert sum(x != y for x, y in zip(a, b, strict=True)) == 1


@given(times_ns)
def test_code_is_constant_within_a_unit(t_ns: int) -> None:
    """Every instant within one unit shows the same code (the value is floored)."""
    start = t_ns - t_ns % TIMECODE_UNIT_NS
    assert encode(start) == encode(start + TIMECODE_UNIT_NS - 1) == encode(t_ns)


@given(times_ns, st.integers(min_value=-(TIMECODE_WRAP_NS // 2) + 1, max_value=TIMECODE_WRAP_NS // 2 - 1))
def test_unwrap_recovers_full_time(t_ns: int, error_ns: int) -> None:
    """unwrap_ns lifts a read-back to full time given a reference within half a wrap."""
    read_ns = decode(encode(t_ns)) * TIMECODE_UNIT_NS
    floored = t_ns - t_ns % TIMECODE_UNIT_NS
    reference = floored + error_ns
    assert unwrap_ns(read_ns, reference) == floored


def test_decode_rejects_malformed_codes() -> None:
    """decode refuses a wrong number of cells or cells that are not 0/1, saying which."""
    with pytest.raises(ValueError, match="32 cells"):
        decode([0] * 31)
    with pytest.raises(ValueError, match="cell 3"):
        decode([0, 0, 0, 2] + [0] * 28)
    with pytest.raises(ValueError, match="outside"):
        decode_word(2**32)
