"""``rigsync agent RIG --host H``: run host H's agent until SIGTERM or SIGINT (:mod:`rigsync.net.agent`);
``--init-certs``: the rig's CA and each host's TLS key and certificate."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import threading
from pathlib import Path
from typing import Any

from rich.console import Console

from rigsync.cli.net_args import add_session_args, check_host, default_origin_ns, require_net, session_options
from rigsync.core.errors import OptionError

AGENT_SEND_BUFFER_BYTES = 128 << 10
"""An agent's links' kernel send buffer: a congested link's backlog then waits in the agent's send queue (shown in
its heartbeats, spilled when it stays full), not in the kernel (autotuned up to 4 MB: seconds on a slow link,
before the agent's control replies and heartbeats)."""


def _address(text: str) -> tuple[str, str]:
    host, sep, address = text.partition("=")
    if not sep or not host or not address:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST=IP (e.g. h1=10.0.0.2)")
    return host, address


def add_parser(sub: Any) -> None:
    p = sub.add_parser("agent", help="a host's agent of a capture across hosts (--init-certs: the rig's TLS files)")
    p.add_argument("rig", type=Path, help="rig file (TOML)")
    p.add_argument("--init-certs", action="store_true",
                   help="make the rig's CA and a key and certificate per host of the rig into --out")
    p.add_argument("--out", type=Path, help="folder for the certificate files (with --init-certs)")
    p.add_argument("--address", type=_address, action="append", default=[], metavar="HOST=IP",
                   help="an address of a host, written into its certificate (repeatable)")
    p.add_argument("--host", help="run the agent of this host of the rig (until SIGTERM or Ctrl-C)")
    p.add_argument("--send-queue-mb", type=int, default=64, metavar="MB",
                   help="the send queue's limit (MiB, default 64): frames it cannot take go to the spill file")
    p.add_argument("--spill-dir", type=Path, default=Path("."), metavar="DIR",
                   help="folder of the spill file <rig>-<host>-<UTC start>.spill.mcap, made when needed "
                        "(default: the current folder)")
    p.add_argument("--local-copy", action="store_true",
                   help="write every frame, event, PTP sample and truth to the spill file too (for rigsync merge)")
    p.add_argument("--ptp-state", type=Path, metavar="DIR",
                   help="the host's PTP state from linuxptp: the state folder of `rigsync ptp run --host H` on this "
                        "host (its --state-dir); stamps real devices, is recorded as observed with simulated ones")
    add_session_args(p, listen=True)


def run_command(args: argparse.Namespace, console: Console) -> int:
    require_net("rigsync.net.certs")
    from rigsync.net.certs import init_certs
    from rigsync.spec import load_rig

    if args.host is not None and not args.init_certs:
        return _run_agent(args, console)
    if not args.init_certs:
        raise OptionError("--host", None, "give the host to run the agent of (or --init-certs)")
    if args.out is None:
        raise OptionError("--out", None, "--init-certs needs the folder to write the files into")
    rig = load_rig(args.rig)
    addresses: dict[str, list[str]] = {}
    for host, address in args.address:
        addresses.setdefault(host, []).append(address)
    files = init_certs(rig.name, [h.name for h in rig.hosts], args.out, addresses)
    console.print(f"CA of {rig.name}: {files.ca_cert} (every host) and {files.ca_key} (keep it off the hosts)",
                  highlight=False)
    for h in files.hosts:
        console.print(f"{h.host}: {h.cert} and {h.key} (that host only)", highlight=False)
    return 0


def _run_agent(args: argparse.Namespace, console: Console) -> int:
    require_net()
    from rigsync.net.agent import Agent
    from rigsync.net.sender import SendQueueConfig
    from rigsync.plan import build_plan
    from rigsync.ptp.status import StateFileSource
    from rigsync.ptp.supervisor import state_file
    from rigsync.spec import load_rig

    rig = load_rig(args.rig)
    host = check_host(args, rig)
    options = dataclasses.replace(session_options(args, host, rig=rig), send_buffer_bytes=AGENT_SEND_BUFFER_BYTES)
    if not 1 <= args.send_queue_mb <= 65536:
        raise OptionError("--send-queue-mb", args.send_queue_mb, "out of range", "1 to 65536 (MiB)")
    if args.spill_dir.exists() and not args.spill_dir.is_dir():
        raise OptionError("--spill-dir", str(args.spill_dir), "not a folder")
    linuxptp = None
    if args.ptp_state is not None:
        if not args.ptp_state.is_dir():
            raise OptionError("--ptp-state", str(args.ptp_state), "not a folder",
                              f"the --state-dir of `rigsync ptp run {args.rig} --host {host}`")
        linuxptp = StateFileSource(state_file(args.ptp_state, host))
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with Agent(rig, build_plan(rig), args.host, options, origin_realtime_ns=default_origin_ns(args),
                   send_queue=SendQueueConfig(limit_bytes=args.send_queue_mb << 20), spill_dir=args.spill_dir,
                   local_copy=args.local_copy, linuxptp=linuxptp) as agent:
            devices = [d.id for d in rig.devices if d.host == args.host]
            console.print(f"agent of host {args.host} of {rig.name} ready: devices {', '.join(devices) or 'none'}; "
                          f"listening on {', '.join(options.listen) or 'nothing'}"
                          f"{f'; scouting on {args.discover}' if args.discover else ''}", highlight=False)
            while not stop.wait(0.5):  # timed: a signal the kernel gives another thread (Zenoh's) only flags
                pass  # Python's handler to run on the main thread, which an untimed wait would never do
            console.print(f"agent of host {args.host} stopping", highlight=False)
        spilled = f" ({agent.spill_path})" if agent.spill_path is not None else ""
        out = agent.output
        console.print(f"agent of host {args.host} stopped: {out.frames_sent} frames sent, {out.frames_spilled} "
                      f"spilled{spilled}, {out.frames_dropped} dropped", highlight=False)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0
