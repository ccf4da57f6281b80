"""``rigsync check RIG [--host H] [--all-hosts]``: the devices (capture/preflight.py) and, with ``--host``, this
machine's set-up as host H against the plan's (rigsync.hostcheck); with ``--all-hosts``, every other host's too, as
its agent reads it (rigsync.net.hostchecks). Pass/fail tables (one per host) with a fix per failure, or ``--json``."""

from __future__ import annotations

import argparse
import json
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from rigsync.cli import args as opt
from rigsync.cli.aligned import LONG_OUTPUT_ROWS, AlignedTable, table
from rigsync.cli.net_args import add_session_args
from rigsync.cli.plain import row, styled
from rigsync.core import limits
from rigsync.core.errors import OptionError

if TYPE_CHECKING:
    from rigsync.capture.preflight import CheckRow
    from rigsync.hostcheck.finding import Finding
    from rigsync.hostcheck.probe import Probe
    from rigsync.plan.model import Plan

TAKE_SECONDS = 600.0
"""The planned take's length the disk check assumes when none is given (``--duration``; a capture without
``--seconds``)."""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="before a take: every device there, its sync settings read back, its frames "
                                     "arriving; with --host, this host's set-up against the plan; with --all-hosts, "
                                     "every host's through its agent (exit 1 on a failure)")
    p.add_argument("rig", type=Path, help="rig file (TOML)")
    p.add_argument("--seconds", type=opt.number(limits.CHECK_SECONDS), default=1.0,
                   help="how long the devices stream for the frame check (default 1)")
    p.add_argument("--host", default=None, help="also check this machine as the rig's host H: kernel USB memory, "
                   "USB links, PTP, network interfaces, GPU, disk (docs/hosts.md)")
    p.add_argument("--all-hosts", action="store_true",
                   help="also check every other host of the rig, each read on its own machine by its `rigsync agent` "
                        "(reached with --connect, the rig file's endpoints or --discover); without --host this "
                        "machine is none of the rig's hosts")
    p.add_argument("--out", type=Path, default=Path("."), help="where the take will be recorded (the disk check; "
                   "default: the current directory)")
    p.add_argument("--duration", type=opt.number(limits.CAPTURE_SECONDS), default=TAKE_SECONDS,
                   help="the planned take's length in seconds (the disk check; default 600)")
    p.add_argument("--no-devices", action="store_true", help="skip the device part (only the host's set-up)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON (for automation)")
    add_session_args(p, listen=False, origin=False)


def run_command(args: argparse.Namespace, console: Console) -> int:
    from rigsync.plan import build_plan
    from rigsync.spec import load_rig

    plan = build_plan(load_rig(args.rig))
    _check_options(args, plan)
    findings = host_findings(plan, args.host, str(args.out), args.duration) if args.host is not None else []
    if args.all_hosts:
        findings += agents_findings(args, plan, args.duration)
    rows = [] if args.no_devices else device_rows(plan, args.seconds)
    failed = any(not r.ok for r in rows) or any(f.status == "fail" for f in findings)
    if args.json:
        console.print_json(json.dumps({
            "rig": plan.rig.name, "ok": not failed,
            "hosts": [f.to_json() for f in findings],
            "devices": [{"device": r.device, "check": r.check, "ok": r.ok, "seen": r.detail, "fix": r.fix}
                        for r in rows],
        }))
        return 1 if failed else 0
    for host_part in host_tables(findings):
        console.print(host_part)
    if rows:
        console.print(device_table(plan, rows))
    return 1 if failed else 0


def _check_options(args: argparse.Namespace, plan: Plan) -> None:
    """``--host`` a host of the rig; the network options only with ``--all-hosts`` (and ``--tls`` with
    ``--host``: a machine that is none of the rig's hosts has no certificate of its own)."""
    from rigsync.cli.net_args import check_host

    if args.host is not None:
        check_host(args, plan.rig)
    if not args.all_hosts:
        for option in ("connect", "tls", "discover"):
            if getattr(args, option) not in (None, []):
                raise OptionError(f"--{option}", None, "reaches the other hosts' agents", "with --all-hosts")
    elif args.tls is not None and args.host is None:
        raise OptionError("--tls", str(args.tls), "a machine that is none of the rig's hosts has no certificate "
                          "of its own (--init-certs makes the rig hosts')", "--host H on a host of the rig, or "
                          "--all-hosts without --tls")


def local_probe() -> Probe:
    """This machine, as the host checks read it (the seam a test replaces to stand for another machine)."""
    from rigsync.hostcheck.probe import LocalProbe

    return LocalProbe()


def host_findings(plan: Plan, host: str, out_dir: str, duration_s: float) -> list[Finding]:
    """This machine, as the rig's ``host``."""
    from rigsync.hostcheck.run import check_host

    return check_host(plan, host, local_probe(), out_dir=out_dir, seconds=duration_s)


def agents_findings(args: argparse.Namespace, plan: Plan, duration_s: float) -> list[Finding]:
    """Every host of the rig but this machine's (``--host``), each read by its agent on its own machine, in rig
    order; the agents reached as a capture reaches them (:func:`rigsync.cli.net_args.reach_agents`)."""
    from rigsync.cli.net_args import reach_agents, require_net

    require_net()
    from rigsync.net.hostchecks import check_agents
    from rigsync.net.remote import RemoteDriver

    hosts = [h.name for h in plan.rig.hosts if h.name != args.host]
    if not hosts:
        return []
    with ExitStack() as stack:
        session = reach_agents(args, plan.rig, args.host, hosts, stack, what="check")
        remotes = [RemoteDriver(session, plan.rig, plan, h) for h in hosts]
        found = check_agents(remotes, duration_s)
    return [f for h in hosts for f in found[h]]


def host_tables(findings: list[Finding]) -> list[Table | AlignedTable]:
    """One table per host, in the order the findings name the hosts."""
    hosts = dict.fromkeys(f.host for f in findings)
    return [host_table([f for f in findings if f.host == h]) for h in hosts]


def host_table(findings: list[Finding]) -> Table | AlignedTable:
    from rigsync.hostcheck.finding import Status

    colours = {Status.PASS: ("pass", "green"), Status.WARN: ("warn", "yellow"), Status.FAIL: ("FAIL", "red bold"),
               Status.SKIP: ("skip", "dim")}
    hosts = ", ".join(dict.fromkeys(f.host for f in findings))
    counts = {s: sum(f.status is s for f in findings) for s in Status}
    skipped = f", {counts[Status.SKIP]} skipped" if counts[Status.SKIP] else ""
    out = table(f"host {hosts}: {counts[Status.PASS]} passed, {counts[Status.WARN]} warnings, "
                f"{counts[Status.FAIL]} failed{skipped}",
                ("item", "on", "result", "what was seen", "the plan needs", "fix (docs/hosts.md)"),
                len(findings) > LONG_OUTPUT_ROWS)
    for f in findings:
        row(out, f.item, f.subject or f.host, styled(*colours[f.status]), f.seen, f.wanted,
            f"{f.fix} ({f.doc})" if f.fix else "")
    return out


def device_rows(plan: Plan, seconds: float = 1.0) -> list[CheckRow]:
    from rigsync.capture.preflight import run_check
    from rigsync.drivers.factory import open_drivers

    drivers = open_drivers(plan.rig, plan, fast=True)  # the simulator checks on its virtual clock
    return run_check(plan, drivers, seconds=seconds)


def device_table(plan: Plan, rows: list[CheckRow]) -> Table | AlignedTable:
    bad = sum(not r.ok for r in rows)
    out = table(f"check of {plan.rig.name}: {len(rows) - bad} passed, {bad} failed",
                ("device", "check", "result", "what was seen", "fix"), len(rows) > LONG_OUTPUT_ROWS)
    for r in rows:
        row(out, r.device, r.check, styled("pass", "green") if r.ok else styled("FAIL", "red bold"), r.detail,
            r.fix)
    return out


def check_table(plan: Plan, seconds: float = 1.0) -> tuple[list[str], Table | AlignedTable]:
    """Run the device check; (devices that failed a check, in plan order; the table of every row)."""
    rows = device_rows(plan, seconds)
    return list(dict.fromkeys(r.device for r in rows if not r.ok)), device_table(plan, rows)
