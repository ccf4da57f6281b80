"""The options ``rigsync agent`` and ``rigsync capture`` share to join a rig's Zenoh network (``--listen``,
``--connect``, ``--tls``, ``--origin``), turned into :class:`~rigsync.net.zenoh_session.SessionOptions` with every
bad value an :class:`OptionError` naming the option."""

from __future__ import annotations

import argparse
import importlib
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from rigsync.core.errors import FieldError, OptionError, RigsyncError

if TYPE_CHECKING:
    from rigsync.net.zenoh_session import Session, SessionOptions, TlsFiles
    from rigsync.spec.model import RigSpec

ENDPOINT = "tcp/ADDR:PORT"
CONNECT_TIMEOUT_MS = 5_000
"""A command across hosts fails when it has reached none of its --connect endpoints within this time."""


def add_session_args(p: argparse.ArgumentParser, *, listen: bool, origin: bool = True) -> None:
    """The network options on ``p`` (``--listen`` only for the agent: the capture connects to its agents;
    ``--origin`` for the commands that simulate)."""
    if listen:
        p.add_argument("--listen", action="append", default=[], metavar=ENDPOINT,
                       help="a Zenoh endpoint to accept the capture's (and other agents') links on (repeatable; "
                            "tls/ADDR:PORT with --tls)")
    p.add_argument("--connect", action="append", default=[], metavar=ENDPOINT,
                   help="a Zenoh endpoint to connect to (repeatable; tls/ADDR:PORT with --tls)")
    p.add_argument("--discover", metavar="IFACE",
                   help="find the rig's other peers by Zenoh multicast scouting on this network interface only "
                        "(the one the rig's hosts share; off by default: endpoints come from --connect or the rig "
                        "file's [[hosts]] agent)")
    p.add_argument("--tls", type=Path, metavar="DIR",
                   help="mutual TLS with this host's files from `rigsync agent RIG --init-certs --out DIR`: "
                        "DIR/ca.pem, DIR/<host>.pem, DIR/<host>-key.pem (every endpoint then tls/...)")
    if not origin:
        return
    p.add_argument("--origin", type=int, metavar="NS",
                   help="simulator: the CLOCK_REALTIME instant (ns) where the rig's shared timeline starts, the same "
                        "in every agent and the capture (agent default: when it starts; capture default: its "
                        "agents' origin)")


def tls_files(folder: Path, host: str) -> TlsFiles:
    """Host ``host``'s TLS files in ``folder`` (``--tls``), each checked to be there."""
    from rigsync.net.certs import CA_CERT
    from rigsync.net.zenoh_session import TlsFiles

    if not folder.is_dir():
        raise OptionError("--tls", str(folder), "not a folder",
                          "the folder `rigsync agent RIG --init-certs --out DIR` wrote")
    paths = (folder / CA_CERT, folder / f"{host}.pem", folder / f"{host}-key.pem")
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise OptionError("--tls", str(folder), f"has no {' or '.join(missing)} (host {host}'s files)",
                          "the folder `rigsync agent RIG --init-certs --out DIR` wrote, with ca.pem, "
                          f"{host}.pem and {host}-key.pem")
    key = paths[2]
    mode = key.stat().st_mode & 0o777
    if mode & 0o077:
        raise OptionError("--tls", str(folder), f"{key.name} can be read by other users of this host (mode "
                          f"{mode:04o}): any of them could join the rig as host {host}",
                          f"the key readable by its owner only: chmod 600 {key}")
    return TlsFiles(*paths)


def session_options(args: argparse.Namespace, host: str, *, rig: RigSpec | None = None,
                    require_connect_ms: int | None = None, peers: Sequence[str] | None = None) -> SessionOptions:
    """The session options of ``host`` from the command line; a bad endpoint names ``--listen`` or ``--connect``.
    With ``rig``, endpoints not given come from its file (:mod:`rigsync.net.discovery`): an agent listens on its
    host's ``agent`` endpoint, a capture connects to the other hosts' (``peers``: the hosts whose agents it
    reaches, default those with devices)."""
    from rigsync.net.discovery import agent_listen, capture_connect
    from rigsync.net.zenoh_session import Scouting, SessionOptions

    tls = tls_files(args.tls, host) if args.tls is not None else None
    agent = hasattr(args, "listen")  # the agent listens, the capture connects to its agents
    listen, connect = tuple(getattr(args, "listen", ())), tuple(args.connect)
    if rig is not None and agent and not listen:
        listen = agent_listen(rig, host, tls=tls is not None)
    if rig is not None and not agent and not connect:
        connect = capture_connect(rig, host, tls=tls is not None, peers=peers)
    try:
        scouting = Scouting(args.discover) if args.discover is not None else None
    except FieldError as err:
        raise OptionError("--discover", err.value, err.problem, err.allowed or None) from None
    if scouting is not None and agent and not listen:
        raise OptionError("--discover", args.discover, "scouting announces the endpoints the agent listens on, and "
                          "it listens on none", f"with --listen ENDPOINT, or an agent endpoint for host {host} in "
                          "the rig file")
    for option, endpoints in (("--listen", listen), ("--connect", connect)):
        for endpoint in endpoints:
            if tls is None and endpoint.startswith("tls/"):
                raise OptionError(option, endpoint, "a TLS endpoint needs --tls DIR", "tcp/ADDR:PORT without --tls")
    try:
        return SessionOptions(listen=listen, connect=connect, tls=tls, scouting=scouting,
                              require_connect_ms=require_connect_ms if connect else None)
    except FieldError as err:
        option = "--" + err.field.partition("[")[0]
        raise OptionError(option, err.value, err.problem + (" (with --tls)" if tls is not None else ""),
                          err.allowed or None) from None


def default_origin_ns(args: argparse.Namespace) -> int:
    """``--origin``, or now on CLOCK_REALTIME (the agent's default: its world starts when it does)."""
    return args.origin if args.origin is not None else time.clock_gettime_ns(time.CLOCK_REALTIME)


def check_host(args: argparse.Namespace, rig: RigSpec) -> str:
    """``--host``: a host of the rig."""
    hosts = [h.name for h in rig.hosts]
    if args.host not in hosts:
        raise OptionError("--host", args.host, f"not a host of {args.rig}", hosts)
    return str(args.host)


def require_net(module: str = "rigsync.net.zenoh_session") -> None:
    """The net extra is installed, or one line saying how to install it (never a traceback)."""
    try:
        importlib.import_module(module)
    except ImportError as err:
        raise RigsyncError(str(err)) from None


def reach_agents(args: argparse.Namespace, rig: RigSpec, local_host: str | None, hosts: Sequence[str],
                 stack: ExitStack, *, what: str = "capture") -> Session:
    """A Zenoh session (closed with ``stack``) on which the agent of every host in ``hosts`` has answered: the
    ``what`` (capture or check) runs on ``local_host`` (None: a station). Fails, naming the hosts and how they
    were looked for, when no endpoint is reached within :data:`CONNECT_TIMEOUT_MS` or an agent does not answer."""
    require_net()
    from rigsync.net.discovery import find_agents
    from rigsync.net.zenoh_session import SessionOpenError, open_session

    options = session_options(args, local_host or "station", rig=rig, require_connect_ms=CONNECT_TIMEOUT_MS,
                              peers=hosts)
    where = f"host {local_host}" if local_host is not None else "the station"
    try:
        session = stack.enter_context(open_session(options))
    except SessionOpenError as err:
        tls = " (with --tls: do both sides use files of one `rigsync agent RIG --init-certs` folder?)" if args.tls \
            else ""
        raise RigsyncError(f"the {what} on {where} cannot reach the agents of host(s) {', '.join(hosts)} "
                           f"at {', '.join(options.connect)} within {CONNECT_TIMEOUT_MS / 1000:g} s{tls}: {err}"
                           ) from None
    how = " and ".join([*([f"at {', '.join(options.connect)}"] if options.connect else []),
                        *([f"by scouting on {args.discover}"] if args.discover else [])])
    find_agents(session, rig, hosts, how=how)
    return session
