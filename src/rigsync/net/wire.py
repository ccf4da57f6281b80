"""The messages agents and the capture exchange, as bytes: versioned, compact, the image after the header.

Every message starts with a 4-byte preamble: the magic ``b"RS"``, the format :data:`VERSION` (1) and the
:class:`Kind`. Then each kind has a fixed little-endian header (one :class:`struct.Struct`), then its variable
parts: strings as a ``uint16`` byte length + UTF-8 (JSON bodies and error texts: ``uint32`` length), then, for a
frame, the image bytes to the end of the message. Enums travel as one-byte codes from fixed tables (codes start at
1: a zeroed buffer never decodes), optional values as a bit in a ``present`` byte plus the value (0 when absent).

Frame (kind 1), header :data:`FRAME_HEADER` (79 bytes, ``<2sBBBBBBBBBqqqqqqqIII``):

======  ====  ==============  ========================================================================
offset  size  field           meaning
======  ====  ==============  ========================================================================
0       2     magic           ``b"RS"``
2       1     version         1
3       1     kind            1 (frame)
4       1     semantics       1 start-, 2 center-, 3 end-of-exposure, 4 host-receive
5       1     domain          1 device, 2 host, 3 ptp
6       1     flags           :class:`~rigsync.core.frame.FrameFlags` bits
7       1     time_flags      :class:`~rigsync.core.frame.TimeFlags` bits (0 without a stamp)
8       1     present         1 exposure_ns, 2 rig stamp, 4 locked (only with 2), 8 image
9       1     dtype           image dtype: 1 u8, 2 i8, 3 u16, 4 i16, 5 u32, 6 i32, 7 f32, 8 f64 (0 no image)
10      1     ndim            image dimensions, 1 to 3 (0 without an image)
11      8     seq             int64
19      8     device_ts_ns    int64, device clock
27      8     host_rx_ns      int64, the device host's CLOCK_MONOTONIC
35      8     min_latency_ns  int64
43      8     exposure_ns     int64 (0 when absent)
51      8     rig_time_ns     int64, rig clock (0 without a stamp)
59      8     error_bound_ns  int64 (0 without a stamp)
67      12    shape           3 x uint32, unused dimensions 0
79            device, stream, encoding: uint16 length + UTF-8 each; then the image, C order, little-endian,
              exactly ``prod(shape) * itemsize`` bytes to the end of the message
======  ====  ==============  ========================================================================

The other kinds (layouts in their ``_*`` structs below): 2 :class:`~rigsync.drivers.base.DeviceEvent`, 3
:class:`~rigsync.core.ptp.PtpSample`, 4 :class:`Heartbeat`, 5 :class:`Request`, 6 :class:`Reply`, 7
:class:`~rigsync.core.truth.FrameTruth` (a simulated frame's true exposure, trigger and fate; only from an agent
whose world is simulated).

:func:`decode` returns the typed object; a frame's image is an ``np.frombuffer`` view of the received buffer
(read-only, no copy). Anything malformed (short, wrong magic or version, unknown kind or enum code, unknown flag
bits, a value set for an absent field, a length beyond the buffer, bytes left over, an image size that does not
match its shape, text that is not UTF-8, a body that is not a JSON object) raises :class:`WireError` and nothing
else: a receiver counts it and carries on. A format change bumps :data:`VERSION`; a receiver refuses versions it
does not know.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from enum import Enum, IntEnum
from typing import Any, Generic, TypeVar

import numpy as np

from rigsync.core.errors import RigsyncError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, TimeFlags, TimestampSemantics
from rigsync.core.ptp import PortState, PtpSample
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import DeviceEvent, EventKind
from rigsync.net.keys import Verb
from rigsync.net.messages import FrameMessage, Heartbeat, Message, Reply, Request, RigStamp

MAGIC = b"RS"
VERSION = 1


class Kind(IntEnum):
    """What a message is (its fourth byte)."""

    FRAME = 1
    DEVICE_EVENT = 2
    PTP_SAMPLE = 3
    HEARTBEAT = 4
    REQUEST = 5
    REPLY = 6
    FRAME_TRUTH = 7


class WireError(RigsyncError):
    """Bytes that are not a valid message (or a value that cannot be encoded): says which kind and what was wrong."""

    def __init__(self, kind: Kind | None, problem: str) -> None:
        self.kind = kind
        self.problem = problem
        where = f"{kind.name.lower().replace('_', ' ')} message" if kind is not None else "message"
        super().__init__(f"wire {where}: {problem}")


Buffer = bytes | bytearray | memoryview

E = TypeVar("E")


class _Codes(Generic[E]):
    """One enum's wire codes (fixed here, never derived from declaration order)."""

    def __init__(self, name: str, codes: dict[E, int]) -> None:
        self.name = name
        self.codes = codes
        self.values = {c: v for v, c in codes.items()}

    def code(self, value: E) -> int:
        try:
            return self.codes[value]
        except KeyError:
            allowed = ", ".join(map(str, self.codes))
            raise ValueError(f"{self.name} {value} has no wire code (allowed: {allowed})") from None

    def value(self, code: int, kind: Kind) -> E:
        try:
            return self.values[code]
        except KeyError:
            allowed = ", ".join(f"{c} {v.value if isinstance(v, Enum) else v}" for c, v in self.values.items())
            raise WireError(kind, f"{self.name} code {code} unknown (allowed: {allowed})") from None


SEMANTICS = _Codes("semantics", {TimestampSemantics.START_OF_EXPOSURE: 1, TimestampSemantics.CENTER_OF_EXPOSURE: 2,
                                 TimestampSemantics.END_OF_EXPOSURE: 3, TimestampSemantics.HOST_RECEIVE: 4})
DOMAINS = _Codes("domain", {ClockDomain.DEVICE: 1, ClockDomain.HOST: 2, ClockDomain.PTP: 3})
EVENT_KINDS = _Codes("event kind", {EventKind.DISCONNECTED: 1, EventKind.RECONNECTED: 2, EventKind.OVERRUN: 3})
PORT_STATES = _Codes("port state", {s: i for i, s in enumerate((
    PortState.INITIALIZING, PortState.FAULTY, PortState.DISABLED, PortState.LISTENING, PortState.PRE_MASTER,
    PortState.MASTER, PortState.PASSIVE, PortState.UNCALIBRATED, PortState.SLAVE, PortState.GRAND_MASTER), 1)})
VERBS = _Codes("verb", {Verb.HELLO: 1, Verb.CONFIGURE: 2, Verb.ARM: 3, Verb.START: 4, Verb.STOP: 5,
                                Verb.CHECK: 6})
LOST = _Codes("lost", {"dropped": 1, "disconnected": 2})  # FrameTruth.lost (0: None, delivered)
DTYPES = _Codes("dtype", {np.dtype(t): i for i, t in enumerate(
    ("<u1", "<i1", "<u2", "<i2", "<u4", "<i4", "<f4", "<f8"), 1)})

_PREAMBLE = struct.Struct("<2sBB")
FRAME_HEADER = struct.Struct("<2sBBBBBBBBBqqqqqqqIII")
_EVENT = struct.Struct("<2sBBBBqQq")  # event kind, present (1 stream, 2 seq), host_ns, count, seq; device, stream
_PTP = struct.Struct("<2sBBBBqqqqqqq")  # port state, present (below), host_ns, mono_ns, then the optional ints
_HEARTBEAT = struct.Struct("<2sBBqqqQQQQQ")  # seq, realtime, monotonic, queue depth/bytes, sent/spilled/dropped
_REQUEST = struct.Struct("<2sBBBQ")  # verb, request id; then the JSON body (uint32 length)
_REPLY = struct.Struct("<2sBBBBQ")  # verb, ok, request id; then the error text and the JSON body (uint32 lengths)
_TRUTH = struct.Struct("<2sBBBBqqq")  # present (below), lost code, seq, exposure start, end; device, stream, trigger
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")

_EXPOSURE, _STAMP, _LOCKED, _IMAGE = 1, 2, 4, 8
_EV_STREAM, _EV_SEQ = 1, 2
_TR_TRIGGER, _TR_DELIVERED = 1, 2
_PTP_OPTIONAL = ("offset_ns", "mean_path_delay_ns", "sys_offset_ns", "steps_removed", "ingress_ns")
_PTP_GM_IDENTITY, _PTP_GM_PRESENT = 32, 64
_FRAME_FLAGS_ALL = sum(int(f) for f in FrameFlags)
_TIME_FLAGS_ALL = sum(int(f) for f in TimeFlags)


# ---- encoding


def encode(msg: Message) -> bytes:
    """The bytes of ``msg`` (one copy of a frame's image); :class:`WireError` for a value its field cannot hold."""
    kind = _KIND_OF.get(type(msg))
    if kind is None:
        raise TypeError(f"not a wire message: {type(msg).__name__}")
    try:
        return b"".join(_ENCODERS[kind](msg))
    except (struct.error, OverflowError, TypeError, ValueError) as e:
        raise WireError(kind, f"cannot encode: {e}") from None


def _text(value: str, length: struct.Struct = _U16) -> bytes:
    data = value.encode("utf-8")
    return length.pack(len(data)) + data


def _json(body: dict[str, Any]) -> bytes:
    return _text(json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False), _U32)


def _encode_frame(m: Any) -> list[Buffer]:
    f: Frame = m.frame
    stamp: RigStamp | None = m.stamp
    present = (_EXPOSURE if f.exposure_ns is not None else 0) | (_STAMP if stamp else 0)
    present |= _LOCKED if stamp and stamp.locked else 0
    shape = (0, 0, 0)
    dtype_code = 0
    image: Buffer = b""
    if f.image is not None:
        array = np.ascontiguousarray(f.image, dtype=f.image.dtype.newbyteorder("<"))
        if not 1 <= array.ndim <= 3:
            raise ValueError(f"image has {array.ndim} dimensions (allowed: 1 to 3)")
        present |= _IMAGE
        dtype_code = DTYPES.code(array.dtype)
        shape = (*array.shape, 0, 0)[:3]
        image = array.data
    header = FRAME_HEADER.pack(
        MAGIC, VERSION, Kind.FRAME, SEMANTICS.code(f.semantics), DOMAINS.code(f.domain), int(f.flags),
        int(stamp.time_flags) if stamp else 0, present, dtype_code, f.image.ndim if f.image is not None else 0,
        f.seq, f.device_ts_ns, f.host_rx_ns, f.min_latency_ns, f.exposure_ns or 0,
        stamp.rig_time_ns if stamp else 0, stamp.error_bound_ns if stamp else 0, *shape)
    return [header, _text(f.device), _text(f.stream), _text(f.encoding), image]


def _encode_event(e: Any) -> list[Buffer]:
    present = (_EV_STREAM if e.stream is not None else 0) | (_EV_SEQ if e.seq is not None else 0)
    return [_EVENT.pack(MAGIC, VERSION, Kind.DEVICE_EVENT, EVENT_KINDS.code(e.kind), present, e.host_ns, e.count,
                        e.seq or 0), _text(e.device), _text(e.stream or "")]


def _encode_ptp(s: Any) -> list[Buffer]:
    values = [getattr(s, name) for name in _PTP_OPTIONAL]
    present = sum(1 << i for i, v in enumerate(values) if v is not None)
    present |= (_PTP_GM_IDENTITY if s.gm_identity is not None else 0) | (_PTP_GM_PRESENT if s.gm_present else 0)
    return [_PTP.pack(MAGIC, VERSION, Kind.PTP_SAMPLE, PORT_STATES.code(s.port_state), present, s.host_ns, s.mono_ns,
                      *(v or 0 for v in values)), _text(s.host), _text(s.gm_identity or "")]


def _encode_heartbeat(h: Any) -> list[Buffer]:
    return [_HEARTBEAT.pack(MAGIC, VERSION, Kind.HEARTBEAT, h.seq, h.realtime_ns, h.monotonic_ns, h.queue_depth,
                            h.queue_bytes, h.frames_sent, h.frames_spilled, h.frames_dropped),
            _text(h.agent_version), _text(h.rig_hash), _text(h.plan_hash), _text(h.host)]


def _encode_request(r: Any) -> list[Buffer]:
    return [_REQUEST.pack(MAGIC, VERSION, Kind.REQUEST, VERBS.code(r.verb), r.request_id), _json(r.body)]


def _encode_reply(r: Any) -> list[Buffer]:
    return [_REPLY.pack(MAGIC, VERSION, Kind.REPLY, VERBS.code(r.verb), int(r.ok), r.request_id),
            _text(r.error, _U32), _json(r.body)]


def _encode_truth(t: Any) -> list[Buffer]:
    if t.delivered and t.lost is not None:
        raise ValueError(f"lost {t.lost!r} for a delivered frame (allowed: None)")
    present = (_TR_TRIGGER if t.trigger_id is not None else 0) | (_TR_DELIVERED if t.delivered else 0)
    return [_TRUTH.pack(MAGIC, VERSION, Kind.FRAME_TRUTH, present, 0 if t.lost is None else LOST.code(t.lost),
                        t.seq, t.exposure_start_ns, t.exposure_end_ns),
            _text(t.device), _text(t.stream), _text(t.trigger_id or "")]


# ---- decoding


class _Reader:
    """Reads one message front to back; every shortfall is a :class:`WireError` naming the field."""

    def __init__(self, buf: memoryview, kind: Kind) -> None:
        self.buf = buf
        self.kind = kind
        self.pos = 0

    def fail(self, problem: str) -> WireError:
        return WireError(self.kind, problem)

    def take(self, n: int, what: str) -> memoryview:
        if n > len(self.buf) - self.pos:
            raise self.fail(f"{what} needs {n} bytes at offset {self.pos}, the message has {len(self.buf)}")
        self.pos += n
        return self.buf[self.pos - n:self.pos]

    def unpack(self, s: struct.Struct) -> tuple[Any, ...]:
        return s.unpack(self.take(s.size, "the header"))

    def text(self, what: str, length: struct.Struct = _U16) -> str:
        (n,) = length.unpack(self.take(length.size, f"the length of {what}"))
        try:
            return str(self.take(n, what), "utf-8")
        except UnicodeDecodeError as e:
            raise self.fail(f"{what} is not UTF-8 ({e.reason})") from None

    def json(self, what: str) -> dict[str, Any]:
        text = self.text(what, _U32)
        try:
            body = json.loads(text, parse_constant=_refuse_constant)
        except (ValueError, RecursionError) as e:
            raise self.fail(f"{what} is not JSON ({e})") from None
        if not isinstance(body, dict):
            raise self.fail(f"{what} is a JSON {type(body).__name__}, not an object")
        return body

    def end(self) -> None:
        if self.pos != len(self.buf):
            raise self.fail(f"{len(self.buf) - self.pos} bytes left over after the message")

    def bits(self, what: str, value: int, allowed: int) -> int:
        if value & ~allowed:
            raise self.fail(f"{what} {value:#x} has unknown bits {value & ~allowed:#x} (allowed: {allowed:#x})")
        return value

    def absent_zero(self, what: str, value: int) -> None:
        if value:
            raise self.fail(f"{what} is {value} but marked absent (must be 0)")


def _bytes_view(buf: Buffer) -> memoryview:
    view = memoryview(buf)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def peek_kind(buf: Buffer) -> Kind:
    """The kind of a message, after checking its magic and version (the rest unchecked)."""
    return _preamble(_bytes_view(buf))


def _preamble(view: memoryview) -> Kind:
    if len(view) < _PREAMBLE.size:
        raise WireError(None, f"{len(view)} bytes, shorter than the {_PREAMBLE.size}-byte preamble")
    magic, version, kind = _PREAMBLE.unpack_from(view)
    if magic != MAGIC:
        raise WireError(None, f"magic {bytes(magic)!r} is not rigsync's {MAGIC!r}")
    if version != VERSION:
        raise WireError(None, f"format version {version} unknown (this rigsync reads version {VERSION})")
    if kind not in _DECODERS:
        raise WireError(None, f"kind {kind} unknown (allowed: {', '.join(f'{k.value} {k.name}' for k in Kind)})")
    return Kind(kind)


def decode(buf: Buffer) -> Message:
    """The message in ``buf``; a frame's image is a read-only view of ``buf``. :class:`WireError` if malformed."""
    view = _bytes_view(buf)
    reader = _Reader(view, _preamble(view))
    message = _DECODERS[reader.kind](reader)
    reader.end()
    return message


def _decode_frame(r: _Reader) -> FrameMessage:
    (_, _, _, semantics, domain, flags, time_flags, present, dtype_code, ndim, seq, device_ts_ns, host_rx_ns,
     min_latency_ns, exposure_ns, rig_time_ns, error_bound_ns, *dims) = r.unpack(FRAME_HEADER)
    r.bits("present", present, _EXPOSURE | _STAMP | _LOCKED | _IMAGE)
    r.bits("flags", flags, _FRAME_FLAGS_ALL)
    r.bits("time_flags", time_flags, _TIME_FLAGS_ALL)
    if not present & _EXPOSURE:
        r.absent_zero("exposure_ns", exposure_ns)
    stamp = None
    if present & _STAMP:
        stamp = RigStamp(rig_time_ns, error_bound_ns, TimeFlags(time_flags), bool(present & _LOCKED))
    elif rig_time_ns or error_bound_ns or time_flags or present & _LOCKED:
        for what, value in (("rig_time_ns", rig_time_ns), ("error_bound_ns", error_bound_ns),
                            ("time_flags", time_flags), ("locked", present & _LOCKED)):
            r.absent_zero(what, value)
    device, stream, encoding = r.text("device"), r.text("stream"), r.text("encoding")
    image = None
    if present & _IMAGE:
        dtype = DTYPES.value(dtype_code, r.kind)
        if not 1 <= ndim <= 3 or any(dims[ndim:]):
            raise r.fail(f"image shape {tuple(dims)} with ndim {ndim} (allowed: ndim 1 to 3, unused dimensions 0)")
        shape = tuple(dims[:ndim])
        size = math.prod(shape) * dtype.itemsize
        if size != len(r.buf) - r.pos:
            raise r.fail(f"image of shape {shape} {dtype} needs {size} bytes, {len(r.buf) - r.pos} follow")
        image = np.frombuffer(r.buf, dtype=dtype, count=size // dtype.itemsize, offset=r.pos).reshape(shape)
        image.flags.writeable = False
        r.pos += size
    elif dtype_code or ndim or any(dims):
        for what, value in (("dtype", dtype_code), ("ndim", ndim), ("shape", any(dims))):
            r.absent_zero(what, value)
    frame = Frame(device=device, stream=stream, seq=seq, device_ts_ns=device_ts_ns, host_rx_ns=host_rx_ns,
                  semantics=SEMANTICS.value(semantics, r.kind), domain=DOMAINS.value(domain, r.kind),
                  min_latency_ns=min_latency_ns, exposure_ns=exposure_ns if present & _EXPOSURE else None,
                  image=image, encoding=encoding, flags=FrameFlags(flags))
    return FrameMessage(frame, stamp)


def _decode_event(r: _Reader) -> DeviceEvent:
    _, _, _, kind, present, host_ns, count, seq = r.unpack(_EVENT)
    r.bits("present", present, _EV_STREAM | _EV_SEQ)
    if not present & _EV_SEQ:
        r.absent_zero("seq", seq)
    device, stream = r.text("device"), r.text("stream")
    if not present & _EV_STREAM and stream:
        raise r.fail(f"stream is {stream!r} but marked absent (must be empty)")
    return DeviceEvent(device=device, kind=EVENT_KINDS.value(kind, r.kind), host_ns=host_ns,
                       stream=stream if present & _EV_STREAM else None, count=count,
                       seq=seq if present & _EV_SEQ else None)


def _decode_ptp(r: _Reader) -> PtpSample:
    _, _, _, port_state, present, host_ns, mono_ns, *values = r.unpack(_PTP)
    r.bits("present", present, (1 << len(_PTP_OPTIONAL)) - 1 | _PTP_GM_IDENTITY | _PTP_GM_PRESENT)
    optional: dict[str, int | None] = {}
    for i, (name, value) in enumerate(zip(_PTP_OPTIONAL, values, strict=True)):
        if not present & (1 << i):
            r.absent_zero(name, value)
        optional[name] = value if present & (1 << i) else None
    host, gm_identity = r.text("host"), r.text("gm_identity")
    if not present & _PTP_GM_IDENTITY and gm_identity:
        raise r.fail(f"gm_identity is {gm_identity!r} but marked absent (must be empty)")
    return PtpSample(host=host, host_ns=host_ns, mono_ns=mono_ns, port_state=PORT_STATES.value(port_state, r.kind),
                     gm_identity=gm_identity if present & _PTP_GM_IDENTITY else None,
                     gm_present=bool(present & _PTP_GM_PRESENT), **optional)


def _decode_heartbeat(r: _Reader) -> Heartbeat:
    _, _, _, *numbers = r.unpack(_HEARTBEAT)
    seq, realtime_ns, monotonic_ns, depth, queued, sent, spilled, dropped = numbers
    return Heartbeat(agent_version=r.text("agent_version"), rig_hash=r.text("rig_hash"),
                     plan_hash=r.text("plan_hash"), host=r.text("host"), seq=seq, realtime_ns=realtime_ns,
                     monotonic_ns=monotonic_ns, queue_depth=depth, queue_bytes=queued, frames_sent=sent,
                     frames_spilled=spilled, frames_dropped=dropped)


def _decode_request(r: _Reader) -> Request:
    _, _, _, verb, request_id = r.unpack(_REQUEST)
    return Request(VERBS.value(verb, r.kind), request_id, r.json("body"))


def _decode_reply(r: _Reader) -> Reply:
    _, _, _, verb, ok, request_id = r.unpack(_REPLY)
    if ok not in (0, 1):
        raise r.fail(f"ok is {ok} (allowed: 0, 1)")
    error, body = r.text("error", _U32), r.json("body")
    if bool(ok) == bool(error):
        raise r.fail(f"ok={bool(ok)} with error text {error!r} (an error text exactly when not ok)")
    return Reply(VERBS.value(verb, r.kind), request_id, bool(ok), error, body)


def _decode_truth(r: _Reader) -> FrameTruth:
    _, _, _, present, lost, seq, start_ns, end_ns = r.unpack(_TRUTH)
    r.bits("present", present, _TR_TRIGGER | _TR_DELIVERED)
    if present & _TR_DELIVERED:
        r.absent_zero("lost (of a delivered frame)", lost)
    device, stream, trigger = r.text("device"), r.text("stream"), r.text("trigger_id")
    if not present & _TR_TRIGGER and trigger:
        raise r.fail(f"trigger_id is {trigger!r} but marked absent (must be empty)")
    return FrameTruth(device, stream, seq, start_ns, end_ns, trigger if present & _TR_TRIGGER else None,
                      delivered=bool(present & _TR_DELIVERED), lost=LOST.value(lost, r.kind) if lost else None)


_KIND_OF: dict[type, Kind] = {FrameMessage: Kind.FRAME, DeviceEvent: Kind.DEVICE_EVENT, PtpSample: Kind.PTP_SAMPLE,
                              Heartbeat: Kind.HEARTBEAT, Request: Kind.REQUEST, Reply: Kind.REPLY,
                              FrameTruth: Kind.FRAME_TRUTH}
_ENCODERS: dict[Kind, Callable[[Any], list[Buffer]]] = {
    Kind.FRAME: _encode_frame, Kind.DEVICE_EVENT: _encode_event, Kind.PTP_SAMPLE: _encode_ptp,
    Kind.HEARTBEAT: _encode_heartbeat, Kind.REQUEST: _encode_request, Kind.REPLY: _encode_reply,
    Kind.FRAME_TRUTH: _encode_truth}
_DECODERS: dict[int, Callable[[_Reader], Message]] = {
    Kind.FRAME: _decode_frame, Kind.DEVICE_EVENT: _decode_event, Kind.PTP_SAMPLE: _decode_ptp,
    Kind.HEARTBEAT: _decode_heartbeat, Kind.REQUEST: _decode_request, Kind.REPLY: _decode_reply,
    Kind.FRAME_TRUTH: _decode_truth}
