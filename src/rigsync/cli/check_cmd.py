"""``rigsync check RIG``: the preflight (capture/preflight.py) as a pass/fail table with a fix per failure."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from rigsync.cli import args as opt
from rigsync.cli.aligned import LONG_OUTPUT_ROWS, AlignedTable, table
from rigsync.cli.plain import row, styled
from rigsync.core import limits

if TYPE_CHECKING:
    from rigsync.plan.model import Plan


def add_parser(sub: Any) -> None:
    p = sub.add_parser("check", help="before a take: every device there, its sync settings read back, its frames "
                                     "arriving (exit 1 on a failure)")
    p.add_argument("rig", type=Path, help="rig file (TOML)")
    p.add_argument("--seconds", type=opt.number(limits.CHECK_SECONDS), default=1.0,
                   help="how long the devices stream for the frame check (default 1)")


def run_command(args: argparse.Namespace, console: Console) -> int:
    from rigsync.plan import build_plan
    from rigsync.spec import load_rig

    failed, out = check_table(build_plan(load_rig(args.rig)), args.seconds)
    console.print(out)
    return 1 if failed else 0


def check_table(plan: Plan, seconds: float = 1.0) -> tuple[list[str], Table | AlignedTable]:
    """Run the check; (devices that failed a check, in plan order; the table of every row)."""
    from rigsync.capture.preflight import run_check
    from rigsync.drivers.factory import open_drivers

    drivers = open_drivers(plan.rig, plan, fast=True)  # the simulator checks on its virtual clock
    rows = run_check(plan, drivers, seconds=seconds)
    failed = list(dict.fromkeys(r.device for r in rows if not r.ok))
    bad = sum(not r.ok for r in rows)
    out = table(f"check of {plan.rig.name}: {len(rows) - bad} passed, {bad} failed",
                ("device", "check", "result", "what was seen", "fix"), len(rows) > LONG_OUTPUT_ROWS)
    for r in rows:
        row(out, r.device, r.check, styled("pass", "green") if r.ok else styled("FAIL", "red bold"), r.detail,
            r.fix)
    return failed, out
