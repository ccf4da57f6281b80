"""``rigsync recover BROKEN.mcap [-o FIXED.mcap]``: a complete, indexed recording from a crashed one
(:mod:`rigsync.record.recover`), with what was kept and lost."""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Any

from rich.console import Console


def add_parser(sub: Any) -> None:
    p = sub.add_parser("recover", help="a complete, indexed recording from one that was not closed (a crash, a "
                       "full disk), with what was kept and lost")
    p.add_argument("broken", type=Path, metavar="BROKEN.mcap", help="the recording to recover (never changed)")
    p.add_argument("-o", "--out", type=Path, metavar="FIXED.mcap",
                   help="the file to write (default: BROKEN.recovered.mcap beside the input)")
    p.add_argument("--force", action="store_true", help="replace the output if it exists")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def run_command(args: argparse.Namespace, console: Console) -> int:
    from rigsync.record.recover import recover

    r = recover(args.broken, args.out, force=args.force)
    if args.json:
        print(json.dumps(dataclasses.asdict(r), indent=2))
        return 0

    def say(text: str) -> None:
        console.print(text, highlight=False, soft_wrap=True)

    if r.complete:
        say(f"{r.source}: already complete (summary and footer present), nothing to recover"
            + (f"; copied to {r.output}" if r.output else ""))
    else:
        say(f"{r.source}: recovered into {r.output}")
        say(f"  kept {r.chunks_kept:,} chunk(s), {sum(r.kept.values()):,} messages, the first {r.bytes_kept:,} of "
            f"{r.bytes_total:,} bytes ({r.bytes_total - r.bytes_kept:,} lost); reading stopped: {r.stopped}")
    start, end = r.time_span_ns
    if r.kept:
        say(f"  time span kept: {(end - start) / 1e9:.3f} s (log time {start} .. {end})")
    for topic in sorted(r.kept.keys() | r.left_out.keys()):
        lost = r.left_out.get(topic, 0)
        say(f"  {topic}: {r.kept.get(topic, 0):,} kept" + (f", {lost:,} left out (stamps cut off)" if lost else ""))
    if r.attachments:
        say(f"  attachments: {r.attachments} kept")
    if r.torn is not None:
        t = r.torn
        say(f"  lost: a {t.kind} record at byte {t.offset:,} cut short or invalid ({t.present_bytes:,} of "
            f"{t.declared_bytes:,} bytes)" + (f", its messages from log time {t.log_time_range[0]} to "
                                             f"{t.log_time_range[1]}" if t.log_time_range else ""))
    return 0
