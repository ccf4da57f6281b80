"""``rigsync agent RIG --host H``: run host H's agent until SIGTERM or SIGINT (:mod:`rigsync.net.agent`);
``--init-certs``: the rig's CA and each host's TLS key and certificate."""

from __future__ import annotations

import argparse
import signal
import threading
from pathlib import Path
from typing import Any

from rich.console import Console

from rigsync.cli.net_args import add_session_args, check_host, default_origin_ns, require_net, session_options
from rigsync.core.errors import OptionError


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
    from rigsync.plan import build_plan
    from rigsync.ptp.status import StateFileSource
    from rigsync.ptp.supervisor import state_file
    from rigsync.spec import load_rig

    rig = load_rig(args.rig)
    host = check_host(args, rig)
    options = session_options(args, host)
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
                   linuxptp=linuxptp) as agent:
            devices = [d.id for d in rig.devices if d.host == args.host]
            console.print(f"agent of host {args.host} of {rig.name} ready: devices {', '.join(devices) or 'none'}; "
                          f"listening on {', '.join(args.listen) or 'nothing'}", highlight=False)
            stop.wait()
            console.print(f"agent of host {args.host} stopping: {agent.frames_sent} frames sent", highlight=False)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 0
