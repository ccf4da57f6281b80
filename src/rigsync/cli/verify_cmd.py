"""``rigsync verify REC.mcap``: prove a recording's sync from its stamps (and, once merged, from its images): a
verdict table, ``--json`` for CI; exit 0 when no check failed, 1 when one did, 2 on bad input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from rigsync.cli.aligned import LONG_OUTPUT_ROWS, table
from rigsync.cli.plain import row, styled
from rigsync.verify.result import Check, Status, Verdict

_STYLE = {Status.FAIL: "red bold", Status.WARN: "yellow", Status.PASS: "green", Status.SKIP: "dim"}
_ORDER = {Status.FAIL: 0, Status.WARN: 1, Status.PASS: 2, Status.SKIP: 3}
DEFAULT_BOARD = "(the reference board)"
"""``--ledclock`` without a file: the reference design, boards/ledclock.toml."""


def add_parser(sub: Any) -> None:
    p = sub.add_parser("verify", help="prove a recording's sync from its stamps against the rig's [verify] limits "
                                      "(exit 1 when a check fails)")
    p.add_argument("recording", type=Path, help="a rigsync recording (.mcap)")
    p.add_argument("--rig", type=Path, help="take the [verify] limits from this rig file (its devices must be the "
                                            "recording's) instead of the rig file the recording embeds")
    p.add_argument("--json", action="store_true", help="print the verdict as JSON (for CI)")
    p.add_argument("--ledclock", nargs="?", const=DEFAULT_BOARD, metavar="BOARD",
                   help="also measure from the images of an LED clock board (default board, or a board file)")
    p.add_argument("--flash", action="store_true", help="also measure from a flash every camera saw")
    p.add_argument("--report", type=Path, metavar="FILE.html", help="write a self-contained HTML report")
    p.add_argument("--png", type=Path, metavar="DIR", help="write each plot as a PNG into DIR")


def run_command(args: argparse.Namespace, console: Console) -> int:
    from rigsync.boards.ledclock import default_board, load_board
    from rigsync.spec import load_rig
    from rigsync.verify.run import verify_recording

    rig = load_rig(args.rig) if args.rig is not None else None
    board = None
    if args.ledclock is not None:
        board = default_board() if args.ledclock == DEFAULT_BOARD else load_board(args.ledclock)
    verdict = verify_recording(args.recording, rig, ledclock=board, flash=args.flash)
    if args.report is not None or args.png is not None:
        from rigsync.verify.report import write_pngs, write_report  # matplotlib: ~1 s to import, only when asked

        if args.report is not None:
            write_report(verdict, args.report)
        if args.png is not None:
            write_pngs(verdict, args.png)
    if args.json:
        print(json.dumps(verdict.to_json(), indent=1))
    else:
        print_verdict(verdict, console)
    return 0 if verdict.passed else 1


def print_verdict(verdict: Verdict, console: Console) -> None:
    """The verdict table (failures first), the facts, then one line: PASS, or FAIL naming the devices."""
    checks = sorted(verdict.checks, key=lambda c: _ORDER[c.status])
    counts = {s: sum(c.status is s for c in checks) for s in Status}
    title = (f"verify {verdict.recording} ({verdict.rig_name}, {verdict.duration_s:.1f} s): "
             + ", ".join(f"{n} {s.value}" for s, n in counts.items() if n))
    out = table(title, ("result", "check", "subject", "value", "limit", "what was found"),
                len(checks) > LONG_OUTPUT_ROWS)
    for c in checks:
        row(out, styled(c.status.value.upper() if c.status is Status.FAIL else c.status.value, _STYLE[c.status]),
            c.id, c.subject, _value(c), "" if c.limit is None else f"{c.limit:,.6g} {c.unit}", c.detail)
    console.print(out)
    for section in verdict.sections:
        for label, value in section.facts:
            console.print(Text(f"{section.name}: {label}: {value}"))
    failed = [c for c in checks if c.status is Status.FAIL]
    if not failed:
        console.print(styled("PASS: no check failed", "green bold"))
        return
    devices = ", ".join(dict.fromkeys(d for c in failed for d in c.devices)) or "the rig"
    console.print(Text.assemble(styled("FAIL", "red bold"), f": {len(failed)} checks failed; devices: {devices}"))


def _value(c: Check) -> str:
    if c.value is None:
        return "-"
    return f"{c.value:,.4g} {c.unit}" if abs(c.value) < 1e4 else f"{c.value:,.0f} {c.unit}"
