"""``rigsync``: capture, list devices, inspect recordings."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live
from rich.text import Text

from rigsync import __version__
from rigsync.cli import args as opt
from rigsync.cli.outputs import refuse_output
from rigsync.core import limits
from rigsync.core.errors import OptionError, RigsyncError

if TYPE_CHECKING:
    from rigsync.cli.capture_check import CaptureCheck
    from rigsync.drivers.base import Driver
    from rigsync.net.remote import RemoteDriver
    from rigsync.plan.model import Plan
    from rigsync.spec.model import RigSpec



def _console_for(stream: object) -> Console:
    """A console; when writing to a file or pipe, wide enough that names are never cut. No emoji codes: a
    value such as ``a:b:c`` or ``:smile:`` is printed as it is (values are never read as markup either)."""
    interactive = hasattr(stream, "isatty") and stream.isatty()
    return Console(file=stream, width=None if interactive else 160, emoji=False)  # type: ignore[arg-type]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="rigsync", description="Plan, capture, time-align and record synchronized "
                                                           "multi-camera rigs (the simulator is the default driver).")
    p.add_argument("--version", action="version", version=f"rigsync {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    cap = sub.add_parser("capture", help="capture a rig into one MCAP recording")
    cap.add_argument("rig", type=Path, help="rig file (TOML)")
    cap.add_argument("--seconds", type=opt.number(limits.CAPTURE_SECONDS),
                     help="stop after this many seconds (default: until Ctrl-C)")
    cap.add_argument("--out", type=Path, help="recording to write (default: <rig name>-<time>.mcap)")
    cap.add_argument("--overwrite", action="store_true", help="replace --out if it exists (never the rig file)")
    cap.add_argument("--fast", action="store_true", help="simulation: run as fast as possible on a virtual clock")
    cap.add_argument("--seed", type=opt.integer(limits.SEED),
                     help="simulation seed (default: the rig file's [sim] seed)")
    cap.add_argument("--compression", choices=("zstd", "lz4", "none"), default="zstd")
    cap.add_argument("--profile", choices=("rigsync", "ros2"), default="rigsync",
                     help="ros2: when the capture ends, also write the recording as a ROS 2 bag, <out>.ros2.mcap "
                          "(as `rigsync export --ros2` does)")
    cap.add_argument("--quiet", action="store_true", help="no live status, only the summary")
    cap.add_argument("--force", action="store_true", help="capture even though the plan has errors")
    cap.add_argument("--check", action=argparse.BooleanOptionalAction, default=None,
                     help="run `rigsync check` first and refuse to capture on a failure (default: when the rig has "
                          "real devices; the simulator's faults are what it is asked to simulate)")
    cap.add_argument("--start-at", metavar="TIME", type=opt.start_time,
                     help="scheduled start: every device begins at this rig (PTP) time, +2s (relative), "
                          "2026-11-21T10:00:00Z or epoch seconds; --seconds counts from it")
    cap.add_argument("--host", help="capture across hosts from this host of the rig: the other hosts' devices come "
                                    "from their `rigsync agent` (reached with --connect)")
    cap.add_argument("--station", action="store_true",
                     help="capture from a machine that is none of the rig's hosts: every device comes from its "
                          "host's `rigsync agent` (reached with --connect)")
    from rigsync.cli.live_args import add_live_args
    from rigsync.cli.net_args import add_session_args

    add_session_args(cap, listen=False)
    add_live_args(cap)

    pl = sub.add_parser("plan", help="check a rig before it is wired: how to wire and start it, budgets, rules")
    pl.add_argument("rig", type=Path, help="rig file (TOML)")
    pl.add_argument("--json", action="store_true", help="print the plan as JSON")
    pl.add_argument("--emit", type=opt.folder, metavar="DIR", help="write each vendor's own settings files into DIR")
    pl.add_argument("--diagram", type=Path, metavar="FILE", help="draw the wiring (.svg, .png, .pdf or .dot)")

    dev = sub.add_parser("devices", help="devices found per driver, by serial")
    dev.add_argument("rig", type=Path, nargs="?", help="rig file (the simulator's devices come from it)")

    info = sub.add_parser("info", help="devices, streams, frames, framesets, drops and duration of a recording")
    info.add_argument("recording", type=Path)

    from rigsync.cli import agent_cmd, check_cmd, clock_test, export_cmd, merge_cmd, ptp_cmd, recover_cmd, verify_cmd
    from rigsync.cli import calibrate_cmd as calibrate

    check_cmd.add_parser(sub)
    ptp_cmd.add_parser(sub)
    clock_test.add_parser(sub)
    agent_cmd.add_parser(sub)
    merge_cmd.add_parser(sub)
    verify_cmd.add_parser(sub)
    recover_cmd.add_parser(sub)
    export_cmd.add_parser(sub)
    calibrate.add_parser(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    out, err_console = _console_for(sys.stdout), _console_for(sys.stderr)
    from rigsync.cli import agent_cmd, check_cmd, clock_test, export_cmd, merge_cmd, ptp_cmd, recover_cmd, verify_cmd
    from rigsync.cli import calibrate_cmd as calibrate

    commands = {"capture": _capture, "plan": _plan, "devices": _devices, "info": _info, "check": check_cmd.run_command,
                "ptp": ptp_cmd.run_command, "clock-test": clock_test.run_command,
                "agent": agent_cmd.run_command, "merge": merge_cmd.run_command,
                "verify": verify_cmd.run_command, "recover": recover_cmd.run_command,
                "export": export_cmd.run_command, "calibrate": calibrate.run_command}
    try:
        return commands[args.command](args, out)
    except (RigsyncError, OSError) as err:
        err_console.print(Text.assemble(("error:", "red"), " ", str(err)), highlight=False, soft_wrap=True)
        return 2
    except KeyboardInterrupt:  # Ctrl-C outside a capture (a capture handles its signals itself)
        err_console.print("interrupted", highlight=False)
        return 130


def _capture(args: argparse.Namespace, console: Console) -> int:
    from rigsync.capture.session import CaptureOptions, CaptureSession
    from rigsync.cli import live_args
    from rigsync.cli.stop_signals import StopOnSignals
    from rigsync.cli.view import LiveView, result_summary
    from rigsync.plan import build_plan
    from rigsync.record.recorder import Compression
    from rigsync.spec import load_rig

    rig = load_rig(args.rig)
    if args.fast and args.seconds is None:
        raise OptionError("--fast", None, "runs on a virtual clock and needs --seconds")
    _check_across_hosts(args, rig)
    live = live_args.live_options(args)
    out = args.out or Path(f"{_file_name(rig.name)}-{time.strftime('%Y%m%d-%H%M%S')}.mcap")
    check_out(out, args.rig, overwrite=args.overwrite)
    if args.profile == "ros2":
        from rigsync.cli.export_cmd import check_ros2_out, export_ros2_and_say, ros2_out_for

        check_ros2_out("--profile ros2", ros2_out_for(out), out, overwrite=args.overwrite)
    options = CaptureOptions(out=out, seconds=args.seconds, fast=args.fast, seed=args.seed,
                             compression=Compression(args.compression), force=args.force, start_at=args.start_at)
    plan = build_plan(rig)
    for diagnostic in (*plan.errors, *plan.warnings):
        colour = "red" if diagnostic in plan.errors else "yellow"
        console.print(Text.assemble((diagnostic.severity.value, colour), f" {diagnostic.rule} "
                                    f"[{', '.join(diagnostic.devices)}]: {diagnostic.message} (fix: {diagnostic.fix})"),
                      highlight=False)
    check = _start_check(args, rig, plan, out)
    across = args.host is not None or args.station
    if check is not None and not across:
        check.decide(console)
    view = LiveView(args.seconds)

    def say(line: str) -> None:
        console.print(line, highlight=False, markup=False)

    def abandon(status: int) -> None:
        console.show_cursor(True)  # rich Live hides it
        console.file.flush()
        os._exit(status)

    # SIGINT/SIGTERM: stop and finish the file; a third one abandons it (see cli/stop_signals.py).
    feed = live_args.live_feed(live, rig)
    with StopOnSignals(out, say, abandon=abandon) as signals, ExitStack() as stack:
        server = live_args.start_live(live, feed, rig, args.live_layout, stack, console) if live and feed else None
        drivers = _across_hosts(args, rig, plan, stack) if across else None
        if check is not None and across:  # the agents' hosts too, then one decision for every part
            check.add_agents(_links(drivers))
            check.decide(console)
        session = stack.enter_context(CaptureSession(plan, options, drivers=drivers, links=_links(drivers),
                                                     **live_args.observers(feed)))
        if server is not None:
            server.calibrate(session.intrinsics)
        if args.quiet:
            result = session.run(stop=signals.stop, on_status=feed.status if feed else None)
        else:
            with Live(view.render(), console=console, refresh_per_second=8, transient=False) as live_status:
                def on_status(status: object) -> None:
                    view.update(status)  # type: ignore[arg-type]
                    live_status.update(view.render())
                    if feed is not None:
                        feed.status(status)  # type: ignore[arg-type]

                result = session.run(on_status=on_status, stop=signals.stop)
            console.print()
    if server is not None and server.error is not None:
        console.print(Text.assemble(("warning:", "yellow"), f" the live view stopped serving: {server.error}"),
                      highlight=False)
    console.print(result_summary(result))
    for warning in result.warnings:
        console.print(Text.assemble(("warning:", "yellow"), f" {warning}"), highlight=False)
    if args.profile == "ros2" and out.exists():
        export_ros2_and_say(out, ros2_out_for(out), console)
    return 1 if result.error else 0


def _start_check(args: argparse.Namespace, rig: RigSpec, plan: Plan, out: Path) -> CaptureCheck | None:
    """The check before the capture (``--check``; by default when the rig has a real device: the simulator's faults
    are what it is asked to simulate): the devices and this machine's host - ``--host H`` across hosts, none for a
    ``--station``, else the rig's primary host (the one whose clock the capture runs on). None: no check."""
    if not (args.check or (args.check is None and any(d.driver != "sim" for d in rig.devices))):
        return None
    from rigsync.cli.capture_check import start_check
    from rigsync.cli.check_cmd import TAKE_SECONDS

    local = None if args.station else args.host if args.host is not None else rig.primary_host.name
    return start_check(plan, args.rig, local, out.parent, args.seconds or TAKE_SECONDS)


def _check_across_hosts(args: argparse.Namespace, rig: RigSpec) -> None:
    """The options of a capture across hosts: given together, with a host of the rig and endpoints to its agents."""
    from rigsync.cli.net_args import check_host

    if args.station:
        if args.host is not None:
            raise OptionError("--station", None, "is a capture on none of the rig's hosts: --host names one",
                              "--station or --host H")
        if args.tls is not None:
            raise OptionError("--tls", str(args.tls), "a station has no certificate of its own (--init-certs makes "
                              "the rig hosts')", "--host H on a host of the rig, or --station without --tls")
    elif args.host is None:
        for option in ("connect", "tls", "origin", "discover"):
            if getattr(args, option) not in (None, []):
                raise OptionError(f"--{option}", None, "is for a capture across hosts", "with --host H or --station")
        return
    host = check_host(args, rig) if not args.station else None
    for option in ("fast", "seed"):
        if getattr(args, option) not in (None, False):
            raise OptionError(f"--{option}", None, "the agents simulate in real time from the rig file's seed: a "
                              "capture across hosts (--host) cannot change that")
    unknown = sorted({d.host for d in rig.devices if rig.host(d.host).agent is None} - {host})
    if unknown and not args.connect and args.discover is None:
        raise OptionError("--connect", None, f"the devices of host(s) {', '.join(unknown)} come from their agents: "
                          "give their endpoints", "tcp/ADDR:PORT or, with --tls, tls/ADDR:PORT (repeatable); an "
                          "agent endpoint in the rig file ([[hosts]] agent = ...); or --discover IFACE")


def _across_hosts(args: argparse.Namespace, rig: RigSpec, plan: Plan, stack: ExitStack) -> dict[str, Driver]:
    """The capture's drivers across hosts: a Zenoh session to the agents (closed last) and their devices."""
    from rigsync.cli.net_args import reach_agents, require_net

    require_net()
    from rigsync.net.discovery import agent_hosts
    from rigsync.net.router import open_capture_drivers

    session = reach_agents(args, rig, args.host, agent_hosts(rig, args.host), stack)
    return open_capture_drivers(rig, plan, session, args.host, origin_realtime_ns=args.origin)


def _links(drivers: dict[str, Driver] | None) -> list[RemoteDriver]:
    """A capture across hosts' agents, whose links the status, summary and recording show."""
    if drivers is None:
        return []
    from rigsync.net.router import remote_drivers

    return remote_drivers(drivers)


def _file_name(name: str) -> str:
    """A rig name as a file name: path separators and other awkward characters replaced."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".") or "rig"


def check_out(out: Path, rig: Path, *, overwrite: bool) -> None:
    """Refuse a recording path that is the rig file (by any path or link), a folder, or, unless ``overwrite``,
    an existing file. Raises :class:`OptionError` naming ``--out``."""
    refuse_output("--out", out, keep=rig, is_keep=f"is the rig file {rig}: a recording never replaces it",
                  example="capture.mcap", overwrite=overwrite)


def _plan(args: argparse.Namespace, console: Console) -> int:
    import json

    from rigsync.cli.plan_view import plan_view
    from rigsync.plan import build_plan
    from rigsync.plan.serialize import plan_to_json
    from rigsync.spec import load_rig

    plan = build_plan(load_rig(args.rig))
    if args.json:
        print(json.dumps(plan_to_json(plan), indent=2))
    else:
        console.print(plan_view(plan))
    if args.emit is not None:
        from rigsync.plan.emit import emit_all

        for path in emit_all(plan, args.emit):
            console.print(Text(f"wrote {path}"), highlight=False)
    if args.diagram is not None:
        from rigsync.plan.diagram import render

        render(plan, args.diagram)
        console.print(Text(f"wrote {args.diagram}"), highlight=False)
    return 1 if plan.errors else 0


def _devices(args: argparse.Namespace, console: Console) -> int:
    from rigsync.drivers.factory import DRIVERS, open_drivers
    from rigsync.plan import build_plan
    from rigsync.spec import load_rig

    if args.rig is None:
        console.print(f"drivers: {', '.join(DRIVERS)}")
        console.print("sim: simulated devices are the ones a rig file declares: rigsync devices RIG")
        return 0
    rig = load_rig(args.rig)
    drivers = open_drivers(rig, build_plan(rig))
    for name, driver in drivers.items():
        found = driver.discover()
        console.print(Text.assemble((name, "bold"), f": {len(found)} device(s)"))
        for info in found:
            console.print(Text(f"  {info.serial:<16} {info.model:<22} {info.name}  at {info.connection}"),
                          highlight=False)
        missing = [d for d in rig.devices if d.driver == name and d.serial not in {i.serial for i in found}]
        for d in missing:
            console.print(Text.assemble((f"  {d.serial:<16} {d.model:<22} not found", "red"),
                                        f" (rig device {d.id} on {d.host})"), highlight=False)
    return 0


def _info(args: argparse.Namespace, console: Console) -> int:
    from rigsync.cli.view import info_tables
    from rigsync.record.reader import open_recording

    with open_recording(args.recording) as rec:
        for table in info_tables(rec.summary(), rec.metadata):
            console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
