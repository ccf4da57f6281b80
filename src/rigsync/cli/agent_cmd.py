"""``rigsync agent``: for now ``--init-certs``, the rig's CA and each host's TLS key and certificate."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

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


def run_command(args: argparse.Namespace, console: Console) -> int:
    from rigsync.net.certs import init_certs
    from rigsync.spec import load_rig

    if not args.init_certs:
        raise OptionError("--init-certs", None, "is the only agent action in this version of rigsync")
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
