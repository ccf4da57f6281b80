"""The one place rigsync imports Zenoh: a session's settings as a typed frozen object, turned into a
``zenoh.Config`` key by key, and the session as a context manager.

Zenoh 1.x keys used (checked against zenoh 1.10's config, which refuses unknown keys; a key it refuses is a
``SessionConfigError`` naming it, never a setting silently ignored):

- ``mode``: ``peer`` (agents and the capture: each connects to the others), ``client`` or ``router``;
- ``listen/endpoints``, ``connect/endpoints``: ``tcp/<host>:<port>`` or ``tls/<host>:<port>``;
- ``scouting/multicast/{enabled, interface, address, ttl}``: multicast scouting (discovery of the other peers on
  one LAN), off unless asked, and then only on the interface named (never Zenoh's ``auto``), on the link-local
  group ``224.0.0.224:7446`` with TTL 1, so scouts never cross a router (:class:`Scouting`);
- ``transport/link/protocols``: with TLS, ``["tls"]`` only: a peer found by scouting (or named by gossip) that
  offers a plain ``tcp/`` locator is never connected to, so scouting opens no path around authentication;
- ``transport/link/tls/{root_ca_certificate, listen_certificate, listen_private_key, connect_certificate,
  connect_private_key, enable_mtls, verify_name_on_connect}``: a peer both accepts and opens links, so it presents
  its own certificate on both sides; with ``enable_mtls`` the accepting side requires the other's certificate and
  checks it against the rig's CA (``rigsync.net.certs``), as the connecting side checks the listener's;
- ``transport/link/tx/lease``: how long (ms) a silent link is kept before it is closed;
- ``transport/shared_memory/enabled``: off unless asked. Zenoh 1.x enables it by default, and then peers on one
  machine - network namespaces included, since they share ``/dev/shm`` - pass every message over 3 KB through
  shared memory and send only a descriptor over the link: the namespace tests and benchmarks would not carry the
  frames over the network they model (checked: 685 frames crossed a 2 Mbit/s link in 162 KB);
- ``transport/link/tcp/so_sndbuf``, ``transport/link/tls/so_sndbuf``: the links' kernel send buffer (bytes), which
  also bounds the data in flight: kept small on an agent so that a congested link's backlog waits in rigsync's
  own send queue (visible in its heartbeats) rather than in the kernel;
- ``connect/exit_on_failure``, ``connect/timeout_ms``: make the open fail when no connect endpoint is reached.

With TLS configured every endpoint must be ``tls/``: a plain ``tcp/`` listener next to it would let a peer without
a certificate in.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from rigsync.core.endpoint import endpoint_protocol
from rigsync.core.errors import FieldError, RigsyncError

try:
    import zenoh
except ImportError as _err:
    raise ImportError(f"rigsync.net needs eclipse-zenoh (the Python module 'zenoh'), which is not installed "
                      f"({_err}): pip install 'rigsync[net]'") from _err

Session = zenoh.Session
"""An open session (:func:`open_session`), as the agent and the capture's remote driver use it."""
Sample = zenoh.Sample
Query = zenoh.Query

Mode = Literal["peer", "client", "router"]
MODES: tuple[Mode, ...] = ("peer", "client", "router")
SCOUTING_ADDRESS = "224.0.0.224:7446"
"""Zenoh's multicast scouting group and port: 224.0.0.0/24 is link-local, never forwarded by a router."""
_INTERFACE = re.compile(r"^[A-Za-z0-9_.\-]{1,15}$")


class SessionConfigError(RigsyncError):
    """Zenoh refused a configuration key or value (names the key, the value and Zenoh's reason)."""

    def __init__(self, key: str, value: object, reason: str) -> None:
        self.key = key
        self.value = value
        self.reason = reason
        super().__init__(f"zenoh config {key} = {json.dumps(value)}: {reason}")


class SessionOpenError(RigsyncError):
    """Zenoh could not open the session (an endpoint cannot be listened on, a certificate cannot be read...)."""


@dataclass(frozen=True)
class TlsFiles:
    """This peer's TLS identity: the rig's CA certificate, its own certificate and private key (PEM files)."""

    root_ca: Path
    cert: Path
    key: Path
    mutual: bool = True
    """Require the other side's certificate too (mTLS): a peer without one signed by ``root_ca`` is refused."""
    verify_name: bool = True
    """Check that the listener's certificate names the host (or address) of the endpoint connected to."""

    def __post_init__(self) -> None:
        for name in ("root_ca", "cert", "key"):
            path = getattr(self, name)
            if not Path(path).is_file():
                raise FieldError(f"tls.{name}", str(path), "no such file", "a PEM file (rigsync agent --init-certs)")


@dataclass(frozen=True)
class Scouting:
    """Multicast scouting on one network interface: this peer answers other peers' scouts and connects to the
    peers it finds (their listening endpoints). Scouts go out on ``interface`` only, with TTL 1 to the link-local
    group :data:`SCOUTING_ADDRESS`: they reach the hosts of that LAN segment and no further."""

    interface: str
    """A network interface name (``ip link``), or its IPv4 address: the one the rig's hosts share."""

    def __post_init__(self) -> None:
        if self.interface == "auto":
            raise FieldError("scouting.interface", self.interface, "lets Zenoh choose the interface (it may be one "
                             "that is not the rig's)", "the name of the interface the rig's hosts share, e.g. eth1")
        if not _INTERFACE.match(self.interface):
            raise FieldError("scouting.interface", self.interface, "not a network interface name",
                             "1 to 15 letters, digits, '_', '-', '.' (ip link), or an IPv4 address")

    def entries(self) -> list[tuple[str, object]]:
        return [("scouting/multicast/interface", self.interface), ("scouting/multicast/address", SCOUTING_ADDRESS),
                ("scouting/multicast/ttl", 1)]


@dataclass(frozen=True)
class SessionOptions:
    """How one process joins the rig's Zenoh network."""

    mode: Mode = "peer"
    listen: tuple[str, ...] = ()
    connect: tuple[str, ...] = ()
    scouting: Scouting | None = None
    """Multicast scouting (None: off, the endpoints are named)."""
    tls: TlsFiles | None = None
    lease_ms: int | None = None
    """Close a link silent for this long (Zenoh's default: 10000 ms); None leaves Zenoh's default."""
    require_connect_ms: int | None = None
    """Fail the open when no connect endpoint is reached within this many ms (None: open anyway, keep trying)."""
    shared_memory: bool = False
    """Let peers on the same machine exchange large messages through shared memory instead of the link."""
    send_buffer_bytes: int | None = None
    """The links' kernel send buffer (``so_sndbuf``); None leaves the kernel's (autotuned up to a few MB)."""

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise FieldError("mode", self.mode, "not a Zenoh mode", MODES)
        for label, endpoints in (("listen", self.listen), ("connect", self.connect)):
            for i, endpoint in enumerate(endpoints):
                proto = endpoint_protocol(f"{label}[{i}]", endpoint)
                if self.tls is not None and proto != "tls":
                    raise FieldError(f"{label}[{i}]", endpoint, "a plain TCP endpoint next to TLS would let a "
                                     "peer without a certificate in", "tls/<host>:<port>")
                if self.tls is None and proto == "tls":
                    raise FieldError(f"{label}[{i}]", endpoint, "a TLS endpoint needs the TLS files (tls=...)")
        if self.lease_ms is not None and not 100 <= self.lease_ms <= 3_600_000:
            raise FieldError("lease_ms", self.lease_ms, "out of range", "100 to 3600000 (ms)")
        if self.send_buffer_bytes is not None and not 4096 <= self.send_buffer_bytes <= 1 << 30:
            raise FieldError("send_buffer_bytes", self.send_buffer_bytes, "out of range", "4096 to 2^30 (bytes)")
        if self.require_connect_ms is not None and not (self.connect and 1 <= self.require_connect_ms <= 3_600_000):
            raise FieldError("require_connect_ms", self.require_connect_ms, "needs connect endpoints and a timeout",
                             "1 to 3600000 (ms) with connect=...")

    def entries(self) -> list[tuple[str, object]]:
        """The Zenoh config entries, (key, JSON value), in the order they are set."""
        out: list[tuple[str, object]] = [("mode", self.mode), ("listen/endpoints", list(self.listen)),
                                         ("connect/endpoints", list(self.connect)),
                                         ("scouting/multicast/enabled", self.scouting is not None),
                                         ("transport/shared_memory/enabled", self.shared_memory)]
        if self.scouting is not None:
            out += self.scouting.entries()
        if self.lease_ms is not None:
            out.append(("transport/link/tx/lease", self.lease_ms))
        if self.send_buffer_bytes is not None:
            out += [("transport/link/tcp/so_sndbuf", self.send_buffer_bytes),
                    ("transport/link/tls/so_sndbuf", self.send_buffer_bytes)]
        if self.require_connect_ms is not None:
            out += [("connect/exit_on_failure", True), ("connect/timeout_ms", self.require_connect_ms)]
        if self.tls is not None:
            t = self.tls
            tls = "transport/link/tls/"
            out += [(tls + "root_ca_certificate", str(t.root_ca)),
                    (tls + "listen_certificate", str(t.cert)), (tls + "listen_private_key", str(t.key)),
                    (tls + "connect_certificate", str(t.cert)), (tls + "connect_private_key", str(t.key)),
                    (tls + "enable_mtls", t.mutual), (tls + "verify_name_on_connect", t.verify_name),
                    ("transport/link/protocols", ["tls"])]
        return out


def build_config(options: SessionOptions, extra: tuple[tuple[str, object], ...] = ()) -> zenoh.Config:
    """A ``zenoh.Config`` from ``options`` (then ``extra`` entries, for settings not modelled yet); a key or value
    Zenoh refuses raises ``SessionConfigError``."""
    config = zenoh.Config()
    for key, value in (*options.entries(), *extra):
        try:
            config.insert_json5(key, json.dumps(value))
        except zenoh.ZError as err:
            raise SessionConfigError(key, value, str(err).split(" at /", 1)[0]) from None
    return config


@contextmanager
def open_session(options: SessionOptions) -> Iterator[zenoh.Session]:
    """An open Zenoh session, closed on exit."""
    config = build_config(options)
    try:
        session = zenoh.open(config)
    except zenoh.ZError as err:
        raise SessionOpenError(f"cannot open a Zenoh session ({options.mode}, listen {list(options.listen)}, "
                               f"connect {list(options.connect)}): {err}") from None
    with session:  # closes it
        yield session


def declare_blocking_publisher(session: zenoh.Session, key: str) -> zenoh.Publisher:
    """A reliable publisher whose ``put`` waits while the link is congested (``CongestionControl.BLOCK``).
    Zenoh's default, ``DROP``, silently drops messages under congestion (checked: eclipse-zenoh 1.10.2's
    ``declare_publisher`` defaults to ``CongestionControl.DROP``); waiting instead passes the backpressure on to the
    agent's send queue (:mod:`rigsync.net.sender`). Zenoh closes a link on which a put stayed blocked for
    ``transport/link/tx/queue/congestion_control/block/wait_before_close`` (5 s by default)."""
    return session.declare_publisher(key, congestion_control=zenoh.CongestionControl.BLOCK,
                                     reliability=zenoh.Reliability.RELIABLE)


def declare_status_publisher(session: zenoh.Session, key: str) -> zenoh.Publisher:
    """A publisher for small periodic messages where the next one replaces a lost one (heartbeats): it never
    waits (``DROP``), on a priority above the data's, so it is not queued behind a congested link's frames."""
    return session.declare_publisher(key, congestion_control=zenoh.CongestionControl.DROP,
                                     priority=zenoh.Priority.INTERACTIVE_HIGH)



def control_get(session: zenoh.Session, key: str, payload: bytes, timeout_s: float) -> zenoh.Handler[zenoh.Reply]:
    """A control query ahead of queued data: at a priority above the frames' (Zenoh sends each priority's queue
    first; the reply takes the query's priority), sent at once (``express``), so a congested link's frames do not
    hold up the capture's control of its agents."""
    return session.get(key, payload=payload, timeout=timeout_s, priority=zenoh.Priority.INTERACTIVE_HIGH,
                       express=True)


def replies_watched(replies: zenoh.Handler[zenoh.Reply], watch: Callable[[], None], poll_s: float = 0.02
                    ) -> Iterator[zenoh.Reply]:
    """A query's replies as they come, until every queryable has answered or the query's timeout; ``watch`` is
    called every ``poll_s`` while none has come, and may raise to give up at once (an agent gone silent)."""
    while True:
        try:
            answer = replies.try_recv()
        except zenoh.ZError:  # "channel is empty and closed": every reply is in, or the timeout passed
            return
        if answer is None:
            watch()
            time.sleep(poll_s)
            continue
        yield answer
