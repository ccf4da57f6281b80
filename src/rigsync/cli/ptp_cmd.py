"""``rigsync ptp check | config | run | status``: linuxptp, checked and supervised."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table
from rich.text import Text

from rigsync.cli.args import folder, number
from rigsync.cli.plain import row, styled
from rigsync.core.errors import RigsyncError
from rigsync.core.limits import CAPTURE_SECONDS
from rigsync.core.ptp import PtpMode, SyncLevel
from rigsync.timebase.host import HostSyncStatus

if TYPE_CHECKING:
    from rigsync.plan.model import HostSetup, Plan
    from rigsync.ptp.supervisor import SupervisorConfig

LEVEL_STYLE = {SyncLevel.OK: "green", SyncLevel.WARN: "yellow", SyncLevel.ERROR: "red"}


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ptp = sub.add_parser("ptp", help="PTP with linuxptp: check interfaces, write configs, run and monitor ptp4l")
    cmds = ptp.add_subparsers(dest="ptp_command", required=True)

    check = cmds.add_parser("check", help="what each network interface can do for PTP (ethtool -T)")
    check.add_argument("interfaces", nargs="*", help="interfaces to check (default: all but loopback)")
    check.add_argument("--netns", help="check inside this network namespace")

    config = cmds.add_parser("config", help="ptp4l / phc2sys configuration and commands per host, into a folder")
    config.add_argument("rig", type=Path)
    config.add_argument("--out", type=folder, default=Path("ptp"), help="folder to write into (default: ./ptp)")
    config.add_argument("--mode", choices=[m.value for m in PtpMode], help="override the rig's mode")
    config.add_argument("--host", action="append", default=[], help="only this host (repeatable)")
    config.add_argument("--check", action="store_true",
                        help="choose hardware or software timestamping from ethtool -T on this machine (one --host)")
    config.add_argument("--netns", help="--check inside this network namespace")

    run = cmds.add_parser("run", help="start and supervise ptp4l (and phc2sys) for one host, monitored via pmc")
    run.add_argument("rig", type=Path)
    run.add_argument("--host", required=True, help="the rig host this machine is")
    run.add_argument("--mode", choices=[m.value for m in PtpMode], help="override the rig's mode")
    run.add_argument("--interface", help="run PTP on this interface instead of the rig's")
    run.add_argument("--netns", help="run linuxptp inside this network namespace (hosts simulated on one machine)")
    run.add_argument("--state-dir", type=folder, help="where state and logs go (default: /run/rigsync)")
    run.add_argument("--seconds", type=number(CAPTURE_SECONDS), help="stop after this long (default: until Ctrl-C)")
    run.add_argument("--quiet", action="store_true", help="only events, no status line")

    status = cmds.add_parser("status", help="each host's PTP state and offset against the group's levels")
    status.add_argument("rig", type=Path, nargs="?", help="rig file: its hosts and levels")
    status.add_argument("--state-dir", type=folder,
                        help="where rigsync ptp run keeps its state (default: /run/rigsync)")
    status.add_argument("--network", metavar="IFACE", help="also ask every PTP clock on this interface (pmc -4)")
    status.add_argument("--netns", help="ask from inside this network namespace")
    status.add_argument("--json", action="store_true")


def run_command(args: argparse.Namespace, console: Console) -> int:
    commands = {"check": _check, "config": _config, "run": _run, "status": _status}
    return commands[args.ptp_command](args, console)


def _check(args: argparse.Namespace, console: Console) -> int:
    from rigsync.ptp.ethtool import check

    caps = check(args.interfaces or None, netns=args.netns)
    table = Table(title="PTP timestamping (ethtool -T)")
    for col in ("interface", "kind", "timestamping", "PTP clock", "advice"):
        table.add_column(col, overflow="fold")
    for c in caps:
        colour = {"hardware": "green", "software": "yellow", "none": "red"}[c.timestamping]
        row(table, c.name, "wifi" if c.wireless else "wired", styled(c.timestamping, colour),
            f"/dev/ptp{c.phc_index}" if c.phc_index is not None else "-", c.advice())
    console.print(table)
    usable = [c for c in caps if c.timestamping != "none" and not c.wireless]
    return 0 if usable and (not args.interfaces or len(usable) == len(caps)) else 1


def _config(args: argparse.Namespace, console: Console) -> int:
    from rigsync.plan import build_plan
    from rigsync.plan.emit.ptp import write
    from rigsync.spec import load_rig

    plan = build_plan(load_rig(args.rig))
    known = [h.host for h in plan.hosts if h.ptp_role is not None]
    if not known:
        raise RigsyncError(f"{args.rig}: no sync group uses PTP: there is nothing to configure")
    for h in args.host:
        _ptp_setup(plan, args.rig, h)
    if args.check:
        if len(args.host) != 1:
            raise RigsyncError("--check probes this machine's interface: give the one --host this machine is")
        plan = checked_plan(plan, args.rig, args.host[0], None, args.netns, console)[0]
    for path in write(plan, args.out, PtpMode(args.mode) if args.mode else None, tuple(args.host)):
        console.print(Text(f"wrote {path}"), highlight=False)
    console.print("Start the grandmaster host's script first, then the slaves'. On hardware-timestamping slaves "
                  "phc2sys -O 0 keeps the system clock equal to the NIC's PTP clock: without -O 0, phc2sys applies "
                  "the ~37 s TAI-UTC offset (seeds/000). Or let rigsync run them: rigsync ptp run RIG --host H.",
                  highlight=False)
    return 0


def _ptp_setup(plan: Plan, rig_path: Path, host: str) -> HostSetup:
    setup = next((h for h in plan.hosts if h.host == host), None)
    if setup is None or setup.ptp_role is None:
        ptp_hosts = [h.host for h in plan.hosts if h.ptp_role is not None]
        raise RigsyncError(f"{rig_path}: host {host!r} takes part in no PTP group (PTP hosts: "
                           f"{', '.join(ptp_hosts) or 'none'})")
    return setup


def checked_plan(plan: Plan, rig_path: Path, host: str, interface: str | None, netns: str | None,
                 console: Console, *, observe: bool = False) -> tuple[Plan, HostSetup]:
    """The plan with ``host``'s PTP interface and timestamping as ``ethtool -T`` finds them on this machine
    (software in observe mode, which measures the system clock)."""
    from rigsync.ptp.ethtool import check

    setup = _ptp_setup(plan, rig_path, host)
    iface = interface or setup.ptp_interface
    if iface is None:
        raise RigsyncError(f"{rig_path}: host {host} declares no network interface: give --interface")
    caps = check([iface], netns=netns)[0]
    if caps.timestamping == "none" or caps.wireless:
        raise RigsyncError(f"{iface}: {caps.advice()}")
    chosen = "software" if observe else caps.timestamping
    if setup.timestamping and setup.timestamping != chosen:
        why = "observe mode measures the system clock" if observe else f"ethtool -T shows {caps.timestamping}"
        console.print(Text.assemble(("note:", "yellow"), f" the rig declares {setup.timestamping} timestamping on "
                                    f"{iface}; {why}: using {chosen}"), highlight=False)
    setup = dataclasses.replace(setup, timestamping=chosen, ptp_interface=iface)
    hosts = tuple(setup if h.host == host else h for h in plan.hosts)
    return dataclasses.replace(plan, hosts=hosts), setup


def supervisor_config(rig_path: Path, host: str, mode: str | None, interface: str | None,
                      netns: str | None, console: Console) -> SupervisorConfig:
    """The supervisor's settings for one host: the rig's PTP role, the interface's real capabilities."""
    from rigsync.plan import build_plan
    from rigsync.plan.emit.ptp import conf, mode_of
    from rigsync.ptp.supervisor import SupervisorConfig
    from rigsync.spec import load_rig

    plan = build_plan(load_rig(rig_path))
    chosen = mode_of(_ptp_setup(plan, rig_path, host), PtpMode(mode) if mode else None)
    plan, setup = checked_plan(plan, rig_path, host, interface, netns, console, observe=chosen is PtpMode.OBSERVE)
    ptp = plan.ptp_of(host)
    assert setup.ptp_interface is not None  # checked_plan set it
    return SupervisorConfig(host=host, interface=setup.ptp_interface, role=setup.ptp_role or "slave", mode=chosen,
                            hardware=setup.timestamping == "hardware", ptp4l_conf=conf(plan, setup, chosen),
                            domain=ptp.domain, offset_warn_ns=ptp.offset_warn_ns, offset_error_ns=ptp.offset_error_ns,
                            sync_interval_ns=ptp.sync_interval_ns, netns=netns)


def _run(args: argparse.Namespace, console: Console) -> int:
    from rigsync.ptp.status import default_state_dir
    from rigsync.ptp.supervisor import PtpSupervisor

    config = supervisor_config(args.rig, args.host, args.mode, args.interface, args.netns, console)
    state_dir = args.state_dir or default_state_dir()
    stop = threading.Event()
    deadline = time.monotonic() + args.seconds if args.seconds is not None else None
    console.print(Text(f"{config.host}: ptp4l on {config.interface} ({'hardware' if config.hardware else 'software'} "
                       f"timestamping, {config.role}, {config.mode.value}); state in {state_dir}"), highlight=False)

    def on_status(status: HostSyncStatus, events: list[str]) -> None:
        for event in events:
            console.print(styled(event, "yellow"), highlight=False)
        if not args.quiet:
            console.print(status_line(status), highlight=False)
        if deadline is not None and time.monotonic() >= deadline:
            stop.set()

    # SIGTERM (systemd, kill) stops like Ctrl-C: the daemons are stopped and the state file says so.
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        with PtpSupervisor(config, state_dir) as supervisor, contextlib.suppress(KeyboardInterrupt):
            supervisor.run(stop, on_status)
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0


def status_line(s: HostSyncStatus) -> Text:
    parts = [s.port_state.value if s.port_state else "-"]
    if s.offset_ns is not None:
        parts.append(f"offset {_ns(s.offset_ns)}")
    if s.mean_path_delay_ns is not None:
        parts.append(f"path {_ns(s.mean_path_delay_ns)}")
    if s.bound_ns is not None:
        parts.append(f"bound {_ns(s.bound_ns)}")
    return Text.assemble((s.host, "bold"), "  " + "  ".join(parts) + "  ", (s.level.value, LEVEL_STYLE[s.level]),
                         f" {s.reason}")


def _ns(value: int) -> str:
    return f"{value} ns" if abs(value) < 10_000 else f"{value / 1000:.1f} us" if abs(value) < 10_000_000 else \
        f"{value / 1e6:.1f} ms"


def _status(args: argparse.Namespace, console: Console) -> int:
    from rigsync.ptp.status import default_state_dir, network_reports, supervisor_reports

    state_dir = args.state_dir or default_state_dir()
    reports = supervisor_reports(state_dir)
    warn_ns, error_ns, expected = 1_000, 10_000, []
    if args.rig is not None:
        from rigsync.plan import build_plan
        from rigsync.spec import load_rig

        plan = build_plan(load_rig(args.rig))
        expected = [h.host for h in plan.hosts if h.ptp_role is not None]
        if expected:
            ptp = plan.ptp_of(expected[0])
            warn_ns, error_ns = ptp.offset_warn_ns, ptp.offset_error_ns
    if args.network:
        known = {r.clock_identity: r.host for r in reports if r.clock_identity}
        reports += network_reports(args.network, netns=args.netns, warn_ns=warn_ns, error_ns=error_ns, known=known)
    seen = {r.host for r in reports}
    missing = [h for h in expected if h not in seen]
    if args.json:
        print(json.dumps({"hosts": [{**r.status.to_json(), "source": r.source, "clock_identity": r.clock_identity,
                                     "restarts": r.restarts} for r in reports], "missing": missing}, indent=1))
    else:
        table = Table(title=f"PTP status (levels: warning {warn_ns / 1000:g} us, error {error_ns / 1000:g} us)")
        for col in ("host", "from", "port", "offset", "path delay", "grandmaster", "bound", "level", "why"):
            table.add_column(col, overflow="fold")
        for r in reports:
            s = r.status
            row(table, r.host, r.source, s.port_state.value if s.port_state else "-",
                _ns(s.offset_ns) if s.offset_ns is not None else "-",
                _ns(s.mean_path_delay_ns) if s.mean_path_delay_ns is not None else "-",
                s.gm_identity or "-", _ns(s.bound_ns) if s.bound_ns is not None else "-",
                styled(s.level.value, LEVEL_STYLE[s.level]), s.reason)
        for h in missing:
            row(table, h, "-", "-", "-", "-", "-", "-", styled("error", "red"),
                "no report: start rigsync ptp run there")
        console.print(table)
        if not reports and not missing:
            console.print(Text(f"no rigsync ptp run reports in {state_dir}: start rigsync ptp run RIG --host H on "
                               "each host (or give --state-dir, --network IFACE)"), highlight=False)
    levels = [r.status.level for r in reports]
    return 1 if missing or SyncLevel.ERROR in levels or not reports else 0
