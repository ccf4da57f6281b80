"""Zenoh key expressions of a rig: what each message is published under, and the names in them.

Every key lives under one rig prefix, ``rigsync/<rig>/<host>/...``:

=====================================================  ===========================================================
``rigsync/<rig>/<host>/<device>/<stream>``             frames of one stream (:class:`rigsync.net.wire.FrameMessage`)
``rigsync/<rig>/<host>/@events``                       the host's device events (connect, disconnect, overrun)
``rigsync/<rig>/<host>/@ptp``                          the host's PTP samples (those that stamp its frames)
``rigsync/<rig>/<host>/@linuxptp``                     the host's linuxptp readings when they do not stamp (below)
``rigsync/<rig>/<host>/@heartbeat``                    the agent's heartbeats
``rigsync/<rig>/<host>/@status``                       the agent's status
``rigsync/<rig>/<host>/@truth``                        the simulated truth of the host's frames (simulator only)
``rigsync/<rig>/<host>/@control/<verb>``               queryables: configure, arm, start, stop, hello, check
=====================================================  ===========================================================

``@ptp`` carries the PTP samples the capture maps the host's clock with: linuxptp's (``rigsync agent --ptp-state``)
for real devices, the simulator's model of the host's ptp4l for simulated ones. An agent of simulated devices on a
host that also runs real linuxptp publishes those real readings on ``@linuxptp`` instead: they are recorded as
observed, and stamp nothing (the simulated devices' clocks are the simulator's, not the machine's).

Channel chunks start with ``@``: Zenoh makes such a chunk *verbatim*, matched only by the same chunk and never by
``*`` or ``**``. So ``rigsync/<rig>/*/*/*`` selects frames and nothing else, ``rigsync/<rig>/**`` selects frames
only, and every channel is subscribed to by name (``rigsync/<rig>/*/@ptp``).

Names become key chunks by :func:`encode_name`, a reversible escape. A Zenoh chunk is a non-empty UTF-8 string
without ``/`` and without ``*``, ``$``, ``?``, ``#`` (wildcards and selector syntax); a chunk starting with ``@``
is verbatim. Rig-file names are letters, digits, ``-``, ``_`` and ``.`` (any script), a rig's ``name`` is free
text. The mapping keeps ASCII letters, digits, ``-``, ``_`` and ``.`` as they are and writes every other
character as ``%XX`` per byte of its UTF-8 form (upper-case hex; ``%`` itself is ``%25``): ``Studio A #2`` ->
``Studio%20A%20%232``, ``kamera-ö`` -> ``kamera-%C3%B6``. Keys are therefore plain ASCII, never contain a
wildcard, a selector character, an empty chunk or a verbatim chunk, and :func:`decode_name` gives the name back
exactly; it refuses any chunk that is not the encoding of its own decoding, so a name has one key and a key one
name. The empty name has no key.

Because the escape is reversible, two different names never share a key; what can still collide is a *device*
id declared on two hosts (a frame names its device by id alone, so the capture could not tell them apart):
:class:`RigKeys` refuses that with :class:`KeyCollisionError` naming the device and both hosts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from rigsync.core.errors import RigsyncError

PREFIX = "rigsync"
"""The first chunk of every rigsync key."""

_SAFE = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_HEX = "0123456789ABCDEF"


class KeyExprError(RigsyncError):
    """A name cannot become a key chunk, or a key is not one of rigsync's: names the key or name and the problem."""

    def __init__(self, what: str, value: str, problem: str) -> None:
        self.what = what
        self.value = value
        self.problem = problem
        super().__init__(f"{what} {value!r}: {problem}")


class KeyCollisionError(RigsyncError):
    """Two names of a rig would be published under one key: names both and where they come from."""

    def __init__(self, kind: str, name: str, first: str, second: str) -> None:
        self.kind = kind
        self.name = name
        self.first = first
        self.second = second
        super().__init__(f"{kind} {name!r} is declared on host {first!r} and on host {second!r}: frames name their "
                         f"{kind} by id alone, so the capture could not tell them apart (give each a unique id)")


class Channel(StrEnum):
    """A host's message channels besides frames (the key's last chunk)."""

    EVENTS = "@events"
    PTP = "@ptp"
    HEARTBEAT = "@heartbeat"
    STATUS = "@status"
    TRUTH = "@truth"
    LINUXPTP = "@linuxptp"


CONTROL = "@control"
"""The chunk under which an agent's control queryables live."""


class Verb(StrEnum):
    """Control queries an agent answers, in the order a capture sends them (``hello`` first, any time)."""

    HELLO = "hello"
    CONFIGURE = "configure"
    ARM = "arm"
    START = "start"
    STOP = "stop"
    CHECK = "check"
    """The host's set-up against the plan (:mod:`rigsync.hostcheck`), asked before a capture or by ``rigsync
    check --all-hosts``; touches no device."""


def encode_name(name: str) -> str:
    """The key chunk of a rig, host, device or stream name (see the module docstring for the mapping)."""
    if not name:
        raise KeyExprError("name", name, "an empty name has no key chunk (Zenoh forbids empty chunks)")
    if all(c in _SAFE for c in name):
        return name
    try:
        return "".join(c if c in _SAFE else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in name)
    except UnicodeEncodeError as e:
        raise KeyExprError("name", name, f"not encodable as UTF-8 ({e.reason})") from None


def decode_name(chunk: str) -> str:
    """The name whose key chunk is ``chunk``; refuses anything :func:`encode_name` does not produce."""
    if "%" not in chunk:
        if chunk and all(c in _SAFE for c in chunk):
            return chunk
        raise KeyExprError("key chunk", chunk, _unsafe_problem(chunk))
    raw = bytearray()
    i = 0
    while i < len(chunk):
        c = chunk[i]
        if c == "%":
            pair = chunk[i + 1:i + 3]
            if len(pair) != 2 or any(h not in _HEX for h in pair):
                raise KeyExprError("key chunk", chunk, f"'%' at {i} is not followed by two upper-case hex digits")
            raw.append(int(pair, 16))
            i += 3
        elif c in _SAFE:
            raw.append(ord(c))
            i += 1
        else:
            raise KeyExprError("key chunk", chunk, _unsafe_problem(chunk))
    try:
        name = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise KeyExprError("key chunk", chunk, f"its escapes are not UTF-8 ({e.reason})") from None
    if encode_name(name) != chunk:
        raise KeyExprError("key chunk", chunk, f"not the canonical key of {name!r} (that is {encode_name(name)!r})")
    return name


def _unsafe_problem(chunk: str) -> str:
    if not chunk:
        return "empty"
    bad = next(c for c in chunk if c not in _SAFE and c != "%")
    return f"{bad!r} is not allowed in a chunk (allowed: ASCII letters, digits, '-', '_', '.', and %XX escapes)"


def host_prefix(rig: str, host: str) -> str:
    """``rigsync/<rig>/<host>``: every key of one host starts with it."""
    return f"{PREFIX}/{encode_name(rig)}/{encode_name(host)}"


def frame_key(rig: str, host: str, device: str, stream: str) -> str:
    """Where one stream's frames are published."""
    return f"{host_prefix(rig, host)}/{encode_name(device)}/{encode_name(stream)}"


def channel_key(rig: str, host: str, channel: Channel) -> str:
    """Where a host's events, PTP samples, heartbeats or status are published."""
    return f"{host_prefix(rig, host)}/{channel.value}"


def control_key(rig: str, host: str, verb: Verb) -> str:
    """The queryable an agent answers ``verb`` on."""
    return f"{host_prefix(rig, host)}/{CONTROL}/{verb.value}"


def frames_selector(rig: str, host: str | None = None) -> str:
    """Every frame of the rig, or of one host (a subscription: ``*`` chunks, never matching a channel)."""
    return f"{PREFIX}/{encode_name(rig)}/{'*' if host is None else encode_name(host)}/*/*"


def channel_selector(rig: str, channel: Channel, host: str | None = None) -> str:
    """One channel of every host of the rig, or of one host."""
    return f"{PREFIX}/{encode_name(rig)}/{'*' if host is None else encode_name(host)}/{channel.value}"


def control_selector(rig: str, host: str) -> str:
    """Every control verb of one host: what its agent declares a queryable on."""
    return f"{host_prefix(rig, host)}/{CONTROL}/*"


@dataclass(frozen=True, slots=True)
class FrameKey:
    rig: str
    host: str
    device: str
    stream: str


@dataclass(frozen=True, slots=True)
class ChannelKey:
    rig: str
    host: str
    channel: Channel


@dataclass(frozen=True, slots=True)
class ControlKey:
    rig: str
    host: str
    verb: Verb


ParsedKey = FrameKey | ChannelKey | ControlKey


def parse_key(key: str) -> ParsedKey:
    """The names a concrete key carries (the inverse of the builders); :class:`KeyExprError` for any other key."""
    chunks = key.split("/")
    if len(chunks) < 4 or chunks[0] != PREFIX:
        raise KeyExprError("key", key, f"not a rigsync key (allowed: {PREFIX}/<rig>/<host>/...)")
    rig, host = decode_name(chunks[1]), decode_name(chunks[2])
    rest = chunks[3:]
    if rest[0] == CONTROL:
        if len(rest) != 2 or rest[1] not in _VERBS:
            raise KeyExprError("key", key, f"not a control key (allowed verbs: {', '.join(_VERBS)})")
        return ControlKey(rig, host, Verb(rest[1]))
    if rest[0].startswith("@"):
        if len(rest) != 1 or rest[0] not in _CHANNELS:
            raise KeyExprError("key", key, f"unknown channel (allowed: {', '.join(_CHANNELS)}, {CONTROL}/<verb>)")
        return ChannelKey(rig, host, Channel(rest[0]))
    if len(rest) != 2:
        raise KeyExprError("key", key, "a frame key has 5 chunks: rigsync/<rig>/<host>/<device>/<stream>")
    return FrameKey(rig, host, decode_name(rest[0]), decode_name(rest[1]))


_VERBS = tuple(v.value for v in Verb)
_CHANNELS = tuple(c.value for c in Channel)


@dataclass(frozen=True)
class RigKeys:
    """The keys of one rig's streams, checked at construction: every name has a key, each device one host.

    ``streams`` lists ``(host, device, stream)``; :meth:`frame_key` finds a stream's host, :meth:`find_stream`
    tells which declared stream a received frame key is (None for a key of a stream the rig does not declare).
    """

    rig: str
    streams: tuple[tuple[str, str, str], ...]
    _host_of: dict[str, str] = field(init=False, repr=False, compare=False)
    _by_key: dict[str, FrameKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        encode_name(self.rig)
        host_of: dict[str, str] = {}
        by_key: dict[str, FrameKey] = {}
        for host, device, stream in self.streams:
            first = host_of.setdefault(device, host)
            if first != host:
                raise KeyCollisionError("device", device, first, host)
            by_key[frame_key(self.rig, host, device, stream)] = FrameKey(self.rig, host, device, stream)
        object.__setattr__(self, "_host_of", host_of)
        object.__setattr__(self, "_by_key", by_key)

    @classmethod
    def of(cls, rig: str, streams: Iterable[tuple[str, str, str]]) -> RigKeys:
        return cls(rig, tuple(streams))

    @property
    def hosts(self) -> tuple[str, ...]:
        """The hosts that have streams, in declaration order."""
        return tuple(dict.fromkeys(self._host_of.values()))

    def host_of(self, device: str) -> str:
        try:
            return self._host_of[device]
        except KeyError:
            raise KeyExprError("device", device, f"not a device of rig {self.rig!r} "
                                                 f"(allowed: {', '.join(self._host_of)})") from None

    def frame_key(self, device: str, stream: str) -> str:
        return frame_key(self.rig, self.host_of(device), device, stream)

    def find_stream(self, key: str) -> FrameKey | None:
        """The declared stream a frame key names, or None (a key this rig does not publish frames on)."""
        return self._by_key.get(key)
