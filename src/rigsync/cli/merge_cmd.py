"""``rigsync merge OUT CENTRAL SPILL...``: one recording from a capture's central recording and its agents' spill
files (:mod:`rigsync.capture.merge`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console


def add_parser(sub: Any) -> None:
    p = sub.add_parser("merge", help="one recording from the central recording and the agents' spill files")
    p.add_argument("out", type=Path, help="the merged recording to write")
    p.add_argument("central", type=Path, help="the capture's recording")
    p.add_argument("spills", type=Path, nargs="*", metavar="SPILL", help="agents' spill files (*.spill.mcap)")
    p.add_argument("--force", action="store_true", help="replace OUT if it exists")


def run_command(args: argparse.Namespace, console: Console) -> int:
    from rigsync.capture.merge import merge_recordings

    r = merge_recordings(args.out, args.central, args.spills, force=args.force)
    missing = sum(len(seqs) for reasons in r.missing.values() for seqs in reasons.values())
    console.print(f"{r.path}: {r.frames} frames ({r.from_central} from the central recording, {r.from_spill} only "
                  f"in spill files), {r.framesets} framesets ({r.complete} complete), {r.warmup} warm-up frames, "
                  f"{missing} frames missing", highlight=False)
    for stream, reasons in sorted(r.missing.items()):
        for reason, seqs in sorted(reasons.items()):
            console.print(f"  {stream} {reason}: seq {_ranges(seqs)}", highlight=False)
    return 0


def _ranges(seqs: list[int]) -> str:
    """``3-5, 9`` for [3, 4, 5, 9]."""
    out: list[str] = []
    for seq in sorted(seqs):
        if out and seq == int(out[-1].split("-")[-1]) + 1:
            out[-1] = f"{out[-1].split('-')[0]}-{seq}"
        else:
            out.append(str(seq))
    return ", ".join(out)
