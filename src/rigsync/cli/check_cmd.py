"""``rigsync check RIG``: the preflight (capture/preflight.py) as a pass/fail table with a fix per failure."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from rigsync.cli import args as opt
from rigsync.cli.aligned import LONG_OUTPUT_ROWS, table
from rigsync.cli.plain import row, styled
from rigsync.core import limits


def add_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="before a take: every device there, its sync settings read back, its frames "
                                     "arriving (exit 1 on a failure)")
    p.add_argument("rig", type=Path, help="rig file (TOML)")
    p.add_argument("--seconds", type=opt.number(limits.CHECK_SECONDS), default=1.0,
                   help="how long the devices stream for the frame check (default 1)")


def run_command(args: argparse.Namespace, console: Console) -> int:
    from rigsync.capture.preflight import run_check
    from rigsync.drivers.factory import open_drivers
    from rigsync.plan import build_plan
    from rigsync.spec import load_rig

    rig = load_rig(args.rig)
    plan = build_plan(rig)
    drivers = open_drivers(rig, plan, fast=True)  # the simulator checks on its virtual clock
    rows = run_check(plan, drivers, seconds=args.seconds)
    failed = [r for r in rows if not r.ok]
    out = table(f"check of {rig.name}: {len(rows) - len(failed)} passed, {len(failed)} failed",
                ("device", "check", "result", "what was seen", "fix"), len(rows) > LONG_OUTPUT_ROWS)
    for r in rows:
        row(out, r.device, r.check, styled("pass", "green") if r.ok else styled("FAIL", "red bold"), r.detail,
            r.fix)
    console.print(out)
    return 1 if failed else 0
