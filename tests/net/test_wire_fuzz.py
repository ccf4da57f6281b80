"""Fuzzing the decoder: random bytes, every truncation and every bit flip of valid messages decode to a valid
message or raise WireError, never anything else (a receiver counts WireError and carries on)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.net.wiremsgs import assert_same, samples

from rigsync.net import wire
from rigsync.net.messages import Reply, Request
from rigsync.net.wire import WireError, decode, encode

VALID = [encode(m) for m in samples()]


def decode_or_wire_error(buf: bytes) -> wire.Message | None:
    try:
        return decode(buf)
    except WireError:
        return None


def assert_canonical(buf: bytes, msg: wire.Message) -> None:
    """A message that decodes is one the encoder writes the same way (JSON bodies: the same object)."""
    if isinstance(msg, Request | Reply):
        assert_same(decode(encode(msg)), msg)
    else:
        assert encode(msg) == buf


@pytest.mark.parametrize("index", range(len(VALID)), ids=[type(m).__name__ for m in samples()])
def test_every_truncation_raises_wire_error(index: int) -> None:
    """Every proper prefix of a valid message raises WireError (lengths and image sizes are all checked)."""
    buf = VALID[index]
    for n in range(len(buf)):
        with pytest.raises(WireError):
            decode(buf[:n])


@pytest.mark.parametrize("index", range(len(VALID)), ids=[type(m).__name__ for m in samples()])
def test_every_bit_flip_decodes_canonically_or_raises_wire_error(index: int) -> None:
    """Flipping any one bit gives WireError or a message the encoder writes back to exactly those bytes."""
    buf = VALID[index]
    outcomes = {"valid": 0, "error": 0}
    for bit in range(len(buf) * 8):
        flipped = bytearray(buf)
        flipped[bit // 8] ^= 1 << (bit % 8)
        msg = decode_or_wire_error(bytes(flipped))
        outcomes["error" if msg is None else "valid"] += 1
        if msg is not None:
            assert_canonical(bytes(flipped), msg)
    assert outcomes["error"] > 0 and outcomes["valid"] > 0  # both paths taken: the flips reached the checks


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=300) | st.builds(lambda kind, rest: wire.MAGIC + bytes([wire.VERSION, kind]) + rest,
                                           st.integers(0, 8), st.binary(max_size=300)))
def test_random_bytes_never_raise_anything_but_wire_error(data: bytes) -> None:
    """Arbitrary bytes, with or without a valid preamble, decode or raise WireError."""
    msg = decode_or_wire_error(data)
    if msg is not None:
        assert_canonical(data, msg)


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(VALID), st.integers(0, 2**16), st.binary(min_size=1, max_size=12))
def test_random_overwrites_of_valid_messages_never_raise_anything_but_wire_error(
        buf: bytes, at: int, patch: bytes) -> None:
    """Valid messages with random bytes written over any part of them decode or raise WireError."""
    at %= len(buf)
    data = buf[:at] + patch + buf[at + len(patch):]
    msg = decode_or_wire_error(data)
    if msg is not None:
        assert_canonical(data, msg)
