"""The simulator's visual timecode: true time as a Gray-coded bit pattern on a panel in the scene.

The panel shows ``TIMECODE_BITS`` cells, each lit (1) or dark (0). The value is true time (the simulator's
truth clock, integer nanoseconds) in units of ``TIMECODE_UNIT_NS`` (100 us, i.e. 10 kHz), floored, modulo
``2**TIMECODE_BITS`` (it wraps every ``TIMECODE_WRAP_NS``, about 7 minutes; see :func:`unwrap_ns`).

The value is Gray-coded: consecutive units differ in exactly one cell, so a camera that catches the panel
mid-transition (or a reader that misjudges one cell) is off by at most one unit, never by a large jump.

Latching: the panel is an idealised strobed display. It shows the value for the instant an exposure starts
and holds it for the whole exposure, so an image shows ``encode(exposure_start_ns)`` exactly, with no blur
or mixture of codes. Image-based sync checks can therefore read a frame's true start of exposure (to one
unit) straight from its pixels.

Bit order everywhere: the first element of a bit tuple (and bit 31 of a word) is the most significant.
"""

from __future__ import annotations

from collections.abc import Sequence

TIMECODE_UNIT_NS = 100_000
"""One timecode unit: 100 us (10 kHz resolution)."""
TIMECODE_BITS = 32
"""Cells on the panel."""
TIMECODE_WRAP_NS = TIMECODE_UNIT_NS << TIMECODE_BITS
"""The timecode repeats with this period (2**32 units of 100 us, about 429.5 s)."""

_MASK = (1 << TIMECODE_BITS) - 1


def units(t_ns: int) -> int:
    """True time ``t_ns`` in timecode units: floored, modulo ``2**TIMECODE_BITS`` (always non-negative)."""
    return (int(t_ns) // TIMECODE_UNIT_NS) & _MASK


def gray_word(t_ns: int) -> int:
    """The panel's cells for true time ``t_ns`` as one integer (bit 31 = first cell)."""
    u = units(t_ns)
    return u ^ (u >> 1)


def encode(t_ns: int) -> tuple[int, ...]:
    """The panel's cells (0/1, most significant first) for true time ``t_ns``: Gray-coded units."""
    g = gray_word(t_ns)
    return tuple((g >> (TIMECODE_BITS - 1 - i)) & 1 for i in range(TIMECODE_BITS))


def decode_word(word: int) -> int:
    """Units from a Gray-coded word (inverse of :func:`gray_word`, up to the wrap)."""
    if not 0 <= word <= _MASK:
        raise ValueError(f"timecode word {word} is outside 0..{_MASK}")
    u = word
    shift = 1
    while shift < TIMECODE_BITS:
        u ^= u >> shift
        shift <<= 1
    return u


def decode(bits: Sequence[int]) -> int:
    """Units (``0 .. 2**TIMECODE_BITS - 1``) from the panel's cells, most significant first."""
    if len(bits) != TIMECODE_BITS:
        raise ValueError(f"a timecode has {TIMECODE_BITS} cells, got {len(bits)}")
    word = 0
    for i, bit in enumerate(bits):
        if bit not in (0, 1):
            raise ValueError(f"timecode cell {i} = {bit!r}: cells are 0 or 1")
        word = (word << 1) | int(bit)
    return decode_word(word)


def unwrap_ns(decoded_ns: int, reference_ns: int) -> int:
    """The time congruent to ``decoded_ns`` modulo ``TIMECODE_WRAP_NS`` that is nearest ``reference_ns``.

    ``decoded_ns`` is a read-back value (units times ``TIMECODE_UNIT_NS``); ``reference_ns`` is any estimate
    of the same instant on the same (true-time) clock that is good to within half a wrap (~3.5 minutes).
    """
    offset = (decoded_ns - reference_ns) % TIMECODE_WRAP_NS
    if offset >= TIMECODE_WRAP_NS // 2:
        offset -= TIMECODE_WRAP_NS
    return reference_ns + offset
