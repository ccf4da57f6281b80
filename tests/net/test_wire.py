"""Wire messages: exact round trips of every kind and enum value, the frame layout byte by byte, zero-copy images,
and one WireError naming the problem for each kind of malformed message."""

from __future__ import annotations

import dataclasses
import itertools
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from tests.net.wiremsgs import assert_same, frame, samples

from rigsync.core.frame import ClockDomain, Frame, FrameFlags, TimeFlags, TimestampSemantics
from rigsync.core.ptp import PortState, PtpSample
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.net import wire
from rigsync.net.keys import Verb
from rigsync.net.messages import FrameMessage, Reply, Request, RigStamp
from rigsync.net.wire import Kind, WireError, decode, encode

I64 = st.integers(-(2**63), 2**63 - 1)
U64 = st.integers(0, 2**64 - 1)
NAMES = st.text(max_size=40)


def round_trip(msg: wire.Message) -> wire.Message:
    got = decode(encode(msg))
    assert_same(got, msg)
    return got


@pytest.mark.parametrize("msg", samples(), ids=lambda m: type(m).__name__)
def test_every_kind_round_trips_exactly(msg: wire.Message) -> None:
    """Each kind of message decodes to an equal typed object, optional parts set or absent."""
    round_trip(msg)
    assert wire.peek_kind(encode(msg)) is wire._KIND_OF[type(msg)]


@pytest.mark.parametrize(("semantics", "domain"), itertools.product(TimestampSemantics, ClockDomain))
def test_every_semantics_and_domain_round_trips(semantics: TimestampSemantics, domain: ClockDomain) -> None:
    """Every timestamp semantics and clock domain survives the wire."""
    round_trip(FrameMessage(frame(None, semantics=semantics, domain=domain)))


@pytest.mark.parametrize("flags", range(8))
@pytest.mark.parametrize("time_flags", [0, 1, 2, 4, 8, 16, 32, 63])
def test_every_flag_round_trips(flags: int, time_flags: int) -> None:
    """Every combination of frame flags and each time flag (and all together) survives, locked or not."""
    for locked in (True, False):
        stamp = RigStamp(5, 6, TimeFlags(time_flags), locked)
        round_trip(FrameMessage(frame(None, flags=FrameFlags(flags)), stamp))


@pytest.mark.parametrize("dtype", ["u1", "i1", "<u2", "<i2", "<u4", "<i4", "<f4", "<f8", ">u2", ">f4"])
@pytest.mark.parametrize("shape", [(7,), (3, 5), (3, 5, 3), (0, 4)])
def test_every_image_dtype_and_rank_round_trips(dtype: str, shape: tuple[int, ...]) -> None:
    """Images of every wire dtype and 1 to 3 dimensions come back equal (big-endian ones as little-endian)."""
    image = (np.arange(int(np.prod(shape))) * 37 - 50).astype(dtype).reshape(shape)
    got = round_trip(FrameMessage(frame(image)))
    assert isinstance(got, FrameMessage) and got.frame.image is not None
    assert got.frame.image.dtype.byteorder in "<|="


def test_non_contiguous_image_is_sent_in_c_order() -> None:
    """A strided view (a crop, a channel) is sent as the pixels it shows."""
    base = np.arange(10 * 12 * 3, dtype=np.uint8).reshape(10, 12, 3)
    round_trip(FrameMessage(frame(base[2:8:2, ::3, 1])))


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_event_kind_round_trips(kind: EventKind) -> None:
    """Every device event kind survives the wire."""
    round_trip(DeviceEvent("cam", kind, 1, "ir", 0, 0))


@pytest.mark.parametrize("state", list(PortState))
def test_every_port_state_round_trips(state: PortState) -> None:
    """Every PTP port state survives the wire."""
    round_trip(PtpSample("h", 1, 2, state, 0, 0, "", False, 0, 0, 0))


@pytest.mark.parametrize("verb", list(Verb))
def test_every_verb_round_trips(verb: Verb) -> None:
    """Every control verb survives in requests and in both kinds of reply."""
    round_trip(Request(verb, 0, {}))
    round_trip(Reply(verb, 1, ok=True, body={"x": [1, 2.5, None, "ü"]}))
    round_trip(Reply(verb, 2, ok=False, error="no"))


@pytest.mark.parametrize(("delivered", "lost"), [(True, None), (False, None), (False, "dropped"),
                                                 (False, "disconnected")])
@pytest.mark.parametrize("trigger_id", [None, "", "kinects/12"])
def test_every_frame_truth_fate_round_trips(delivered: bool, lost: str | None, trigger_id: str | None) -> None:
    """Delivered, lost for each reason (or unexplained), triggered (an empty trigger too) or free-running."""
    round_trip(FrameTruth("k1", "depth", 12, 5, 6, trigger_id, delivered, lost))


def test_code_tables_cover_every_enum_member() -> None:
    """A member added to an enum without a wire code fails here, not on the wire; codes are distinct and from 1."""
    for table, enum in ((wire.SEMANTICS, TimestampSemantics), (wire.DOMAINS, ClockDomain),
                        (wire.EVENT_KINDS, EventKind), (wire.PORT_STATES, PortState), (wire.VERBS, Verb)):
        assert set(table.codes) == set(enum)
        assert sorted(table.codes.values()) == list(range(1, len(enum) + 1))


GOLDEN = bytes.fromhex(
    "5253" "01" "01"  # magic, version, kind frame
    "03" "03" "05" "09"  # end-of-exposure, ptp domain, CORRUPT|AFTER_RECONNECT, ACQUIRING|PTP_UNLOCKED
    "0b" "01" "03"  # present: exposure|stamp|image (not locked); dtype u8; ndim 3
    "0700000000000000"  # seq 7
    "0807060504030201"  # device_ts_ns 0x0102030405060708
    "00ca9a3b00000000"  # host_rx_ns 1_000_000_000
    "d007000000000000"  # min_latency_ns 2000
    "408af70100000000"  # exposure_ns 33_000_000
    "15cd853dfe9c9717"  # rig_time_ns 1_700_000_000_123_456_789
    "90d0030000000000"  # error_bound_ns 250_000
    "02000000" "03000000" "03000000"  # shape (2, 3, 3)
    "0400" "63616d31" "0500" "636f6c6f72" "0400" "72676238"  # "cam1", "color", "rgb8"
    "000102030405060708090a0b0c0d0e0f1011")  # the 18 image bytes


def golden_message() -> FrameMessage:
    return FrameMessage(
        Frame("cam1", "color", 7, 0x0102030405060708, 1_000_000_000, TimestampSemantics.END_OF_EXPOSURE,
              ClockDomain.PTP, 2000, 33_000_000, np.arange(18, dtype=np.uint8).reshape(2, 3, 3), "rgb8",
              FrameFlags.CORRUPT | FrameFlags.AFTER_RECONNECT),
        RigStamp(1_700_000_000_123_456_789, 250_000, TimeFlags.ACQUIRING | TimeFlags.PTP_UNLOCKED, locked=False))


def test_frame_layout_is_the_documented_one_byte_for_byte() -> None:
    """The frame format cannot change silently: one frame encodes to exactly these bytes, and they decode back."""
    assert wire.FRAME_HEADER.size == 79
    assert encode(golden_message()) == GOLDEN
    assert_same(decode(GOLDEN), golden_message())


TRUTH_GOLDEN = bytes.fromhex(
    "5253" "01" "07"  # magic, version, kind frame truth
    "03" "00"  # present: trigger|delivered; lost: none
    "0700000000000000"  # seq 7
    "15cd853dfe9c9717"  # exposure_start_ns 1_700_000_000_123_456_789
    "15dfff3dfe9c9717"  # exposure_end_ns 1_700_000_000_131_456_789
    "0200" "6b31" "0500" "636f6c6f72" "0900" "6b696e656374732f37")  # "k1", "color", "kinects/7"
TRUTH_GOLDEN_MESSAGE = FrameTruth("k1", "color", 7, 1_700_000_000_123_456_789, 1_700_000_000_131_456_789,
                                  "kinects/7")


def test_frame_truth_layout_is_the_documented_one_byte_for_byte() -> None:
    """The truth format cannot change silently: one truth encodes to exactly these bytes, and they decode back."""
    assert encode(TRUTH_GOLDEN_MESSAGE) == TRUTH_GOLDEN
    assert decode(TRUTH_GOLDEN) == TRUTH_GOLDEN_MESSAGE


def test_decoded_image_is_a_read_only_view_of_the_received_bytes() -> None:
    """Decoding copies no pixel: the image shares the received buffer's memory and cannot be written."""
    for buf in (encode(golden_message()), bytearray(encode(golden_message()))):
        msg = decode(buf)
        assert isinstance(msg, FrameMessage) and msg.frame.image is not None
        assert np.shares_memory(msg.frame.image, np.frombuffer(buf, np.uint8))
        assert not msg.frame.image.flags.writeable
    assert isinstance(buf, bytearray)
    buf[-1] = 200  # the receiver's buffer changes under the view: proof there was no copy
    assert msg.frame.image[1, 2, 2] == 200


def test_decode_accepts_a_memoryview_of_a_larger_buffer() -> None:
    """A message inside a larger receive buffer decodes from a memoryview slice, without copying it out."""
    big = b"\xff" * 5 + encode(golden_message()) + b"\xee" * 3
    assert_same(decode(memoryview(big)[5:-3]), golden_message())


def patched(offset: int, fmt: str, value: int) -> bytes:
    buf = bytearray(GOLDEN)
    struct.pack_into(fmt, buf, offset, value)
    return bytes(buf)


@pytest.mark.parametrize(("buf", "problem"), [
    (b"", "0 bytes, shorter than the 4-byte preamble"),
    (b"XY\x01\x01" + GOLDEN[4:], "magic b'XY' is not rigsync's b'RS'"),
    (patched(2, "B", 2), "format version 2 unknown \\(this rigsync reads version 1\\)"),
    (patched(3, "B", 9), "kind 9 unknown \\(allowed: 1 FRAME, 2 DEVICE_EVENT"),
    (GOLDEN[:50], "frame message: the header needs 79 bytes at offset 0, the message has 50"),
    (patched(4, "B", 0), "semantics code 0 unknown \\(allowed: 1 start-of-exposure"),
    (patched(5, "B", 7), "domain code 7 unknown \\(allowed: 1 device, 2 host, 3 ptp\\)"),
    (patched(6, "B", 0x15), "flags 0x15 has unknown bits 0x10 \\(allowed: 0x7\\)"),
    (patched(7, "B", 0x40), "time_flags 0x40 has unknown bits 0x40"),
    (patched(8, "B", 0x1b), "present 0x1b has unknown bits 0x10"),
    (patched(8, "B", 0x09), "rig_time_ns is 1700000000123456789 but marked absent"),
    (patched(8, "B", 0x0a), "exposure_ns is 33000000 but marked absent"),
    (patched(9, "B", 9), "dtype code 9 unknown"),
    (patched(10, "B", 4), "image shape \\(2, 3, 3\\) with ndim 4"),
    (patched(10, "B", 2), "image shape \\(2, 3, 3\\) with ndim 2 \\(allowed: ndim 1 to 3, unused dimensions 0\\)"),
    (patched(67, "<I", 3), "image of shape \\(3, 3, 3\\) uint8 needs 27 bytes, 18 follow"),
    (patched(67, "<I", 2**32 - 1), "needs 38654705655 bytes, 18 follow"),
    (patched(79, "<H", 60000), "device needs 60000 bytes at offset 81"),
    (patched(81, "B", 0xC3), "device is not UTF-8"),
    (GOLDEN + b"\0", "image of shape \\(2, 3, 3\\) uint8 needs 18 bytes, 19 follow"),
    (GOLDEN[:-1], "needs 18 bytes, 17 follow"),
])
def test_malformed_frames_raise_one_wire_error_naming_the_problem(buf: bytes, problem: str) -> None:
    """Each way a frame can be malformed raises WireError saying what was wrong."""
    with pytest.raises(WireError, match=problem):
        decode(buf)


def test_malformed_messages_of_other_kinds_name_the_problem() -> None:
    """Bad codes, set values marked absent, non-JSON bodies, contradictory replies and trailing bytes are refused."""
    event = bytearray(encode(DeviceEvent("c", EventKind.OVERRUN, 1)))
    event[4] = 0
    with pytest.raises(WireError, match="device event message: event kind code 0 unknown"):
        decode(event)
    event = bytearray(encode(DeviceEvent("c", EventKind.OVERRUN, 1)))
    event[-2:] = b"\x01\x00x"  # stream length 1, "x", while marked absent
    with pytest.raises(WireError, match="stream is 'x' but marked absent"):
        decode(event)
    ptp = bytearray(encode(PtpSample("h", 1, 2, PortState.SLAVE, None, None, None, False)))
    struct.pack_into("<q", ptp, 22, 5)  # offset_ns value while marked absent
    with pytest.raises(WireError, match="ptp sample message: offset_ns is 5 but marked absent"):
        decode(ptp)
    struct.pack_into("<q", ptp, 22, 0)
    ptp[4] = 11
    with pytest.raises(WireError, match="port state code 11 unknown"):
        decode(ptp)
    head = encode(Request(Verb.ARM, 1))[:wire._REQUEST.size]
    for body, problem in ((b"[1]", "body is a JSON list, not an object"), (b"{", "body is not JSON"),
                          (b'{"a": NaN}', "body is not JSON \\(NaN is not a JSON number\\)")):
        with pytest.raises(WireError, match=f"request message: {problem}"):
            decode(head + struct.pack("<I", len(body)) + body)
    reply = bytearray(encode(Reply(Verb.STOP, 1, ok=True)))
    reply[5] = 0  # not ok, yet no error text
    with pytest.raises(WireError, match="reply message: ok=False with error text ''"):
        decode(reply)
    reply[5] = 2
    with pytest.raises(WireError, match="ok is 2 \\(allowed: 0, 1\\)"):
        decode(reply)
    with pytest.raises(WireError, match="heartbeat message: 1 bytes left over"):
        decode(encode(samples()[6]) + b"\0")


@pytest.mark.parametrize(("offset", "value", "problem"), [
    (4, 0x07, "frame truth message: present 0x7 has unknown bits 0x4 \\(allowed: 0x3\\)"),
    (5, 1, "lost \\(of a delivered frame\\) is 1 but marked absent \\(must be 0\\)"),
])
def test_malformed_frame_truth_names_the_problem(offset: int, value: int, problem: str) -> None:
    """Unknown present bits and a loss reason on a delivered frame are refused."""
    buf = bytearray(TRUTH_GOLDEN)
    buf[offset] = value
    with pytest.raises(WireError, match=problem):
        decode(buf)


def test_malformed_frame_truth_loss_codes_and_absent_trigger_are_refused() -> None:
    """An unknown loss code names the allowed ones; a trigger text marked absent is refused (a lost frame without
    a reason is valid)."""
    buf = bytearray(TRUTH_GOLDEN)
    buf[4] = 0x01  # not delivered, no reason
    assert decode(buf) == dataclasses.replace(TRUTH_GOLDEN_MESSAGE, delivered=False)
    buf[4], buf[5] = 0x01, 3  # not delivered, lost code 3
    with pytest.raises(WireError, match="frame truth message: lost code 3 unknown \\(allowed: 1 dropped, "
                                        "2 disconnected\\)"):
        decode(buf)
    buf[4], buf[5] = 0x02, 0  # delivered, trigger marked absent yet "kinects/7" follows
    with pytest.raises(WireError, match="trigger_id is 'kinects/7' but marked absent \\(must be empty\\)"):
        decode(buf)


def test_encode_refuses_values_the_format_cannot_hold() -> None:
    """Out-of-range integers, unsupported dtypes or ranks and non-JSON bodies raise WireError at the sender."""
    with pytest.raises(WireError, match="frame message: cannot encode"):
        encode(FrameMessage(frame(None, seq=2**63)))
    with pytest.raises(WireError, match="frame message: cannot encode: dtype complex64 has no wire code "
                                        "\\(allowed: uint8,"):
        encode(FrameMessage(frame(np.zeros((2, 2), np.complex64))))
    with pytest.raises(WireError, match="image has 4 dimensions \\(allowed: 1 to 3\\)"):
        encode(FrameMessage(frame(np.zeros((1, 2, 2, 1), np.uint8))))
    with pytest.raises(WireError, match="heartbeat message: cannot encode"):
        encode(dataclasses.replace(samples()[6], frames_dropped=-1))  # type: ignore[arg-type]
    with pytest.raises(WireError, match="request message: cannot encode"):
        encode(Request(Verb.HELLO, 1, {"x": float("nan")}))
    with pytest.raises(WireError, match="frame truth message: cannot encode: lost 'dropped' for a delivered frame"):
        encode(FrameTruth("k1", "color", 1, 2, 3, None, delivered=True, lost="dropped"))
    with pytest.raises(WireError, match="frame truth message: cannot encode: lost late has no wire code "
                                        "\\(allowed: dropped, disconnected\\)"):
        encode(FrameTruth("k1", "color", 1, 2, 3, None, delivered=False, lost="late"))
    with pytest.raises(TypeError, match="not a wire message: str"):
        encode("hello")  # type: ignore[arg-type]


def test_reply_needs_an_error_text_exactly_when_not_ok() -> None:
    """A reply is ok without error text, or not ok with one: the other two are refused at construction."""
    with pytest.raises(ValueError, match="an error text exactly when not ok"):
        Reply(Verb.ARM, 1, ok=False)
    with pytest.raises(ValueError, match="an error text exactly when not ok"):
        Reply(Verb.ARM, 1, ok=True, error="but")


IMAGES = hnp.arrays(st.sampled_from([np.uint8, np.uint16, np.int16, np.float32]),
                    hnp.array_shapes(min_dims=1, max_dims=3, max_side=6),
                    elements={"allow_nan": False}) | st.none()
FRAMES = st.builds(
    Frame, device=NAMES, stream=NAMES, seq=I64, device_ts_ns=I64, host_rx_ns=I64,
    semantics=st.sampled_from(TimestampSemantics), domain=st.sampled_from(ClockDomain), min_latency_ns=I64,
    exposure_ns=I64 | st.none(), image=IMAGES, encoding=NAMES, flags=st.builds(FrameFlags, st.integers(0, 7)))
STAMPS = st.builds(RigStamp, I64, I64, st.builds(TimeFlags, st.integers(0, 63)), st.booleans()) | st.none()


@settings(max_examples=300, deadline=None)
@given(FRAMES, STAMPS)
def test_random_frames_round_trip(f: Frame, stamp: RigStamp | None) -> None:
    """Any frame (any names, 64-bit values, image or none) with or without a stamp decodes equal to itself."""
    round_trip(FrameMessage(f, stamp))


@settings(max_examples=300, deadline=None)
@given(st.builds(DeviceEvent, NAMES, st.sampled_from(EventKind), I64, NAMES | st.none(), U64, I64 | st.none()),
       st.builds(PtpSample, NAMES, I64, I64, st.sampled_from(PortState), I64 | st.none(), I64 | st.none(),
                 NAMES | st.none(), st.booleans(), I64 | st.none(), I64 | st.none(), I64 | st.none()))
def test_random_events_and_ptp_samples_round_trip(event: DeviceEvent, sample: PtpSample) -> None:
    """Any device event and any PTP sample decode equal to themselves."""
    round_trip(event)
    round_trip(sample)


@settings(max_examples=300, deadline=None)
@given(st.builds(FrameTruth, NAMES, NAMES, I64, I64, I64, NAMES | st.none(), st.just(False),
                 st.sampled_from([None, "dropped", "disconnected"]))
       | st.builds(FrameTruth, NAMES, NAMES, I64, I64, I64, NAMES | st.none()))
def test_random_frame_truths_round_trip(truth: FrameTruth) -> None:
    """Any frame truth (any names and 64-bit values, delivered or lost for any reason) decodes equal to itself."""
    round_trip(truth)


def test_kind_names_in_errors() -> None:
    """WireError keeps the kind and the problem as fields for the receiver's counters."""
    with pytest.raises(WireError) as info:
        decode(GOLDEN[:-1])
    assert info.value.kind is Kind.FRAME and info.value.problem.endswith("17 follow")
