"""``rigsync check``'s host part on this machine: how long it takes, item by item, and whether its short timed write
measures the disk as ``dd`` does.

Per repeat, interleaved: every host item of ``--rig``'s ``--host`` run once through the real probe (LocalProbe:
this machine's sysfs, ``ip``, ``ethtool``, processes, the disk of ``--dir``), each item timed; then the disk item's
timed write alone (the size ``disk.write_bytes`` picks for the rig's raw rate, random bytes, fsync included)
against the baseline, ``dd if=/dev/zero bs=1M count=<same MiB> conv=fsync`` into the same directory, timed from
this process. The ratio of the two speeds (ours / dd's) is the figure: near 1 says the check reports the speed a
plain sequential write gets; the spread over the repeats says how far one reading can be off.

Run: python bench/bench_hostcheck.py [--rig examples/studio.toml] [--host studio-1] [--repeat 5] [--dir DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from rigsync.hostcheck import disk  # noqa: E402
from rigsync.hostcheck.context import HostContext  # noqa: E402
from rigsync.hostcheck.probe import LocalProbe  # noqa: E402
from rigsync.hostcheck.run import CHECKS  # noqa: E402
from rigsync.plan import build_plan  # noqa: E402
from rigsync.spec import load_rig  # noqa: E402


def dd_seconds(directory: str, mib: int) -> float:
    target = Path(directory) / f".bench-dd-{os.getpid()}"
    try:
        started = time.perf_counter()
        subprocess.run(["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={mib}", "conv=fsync", "status=none"],
                       check=True)
        return time.perf_counter() - started
    finally:
        target.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rig", default=str(ROOT / "examples" / "studio.toml"))
    ap.add_argument("--host", default="studio-1")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dir", default=None, help="the output directory to measure (default: a new one under .)")
    args = ap.parse_args()
    directory = args.dir or tempfile.mkdtemp(prefix="bench-hostcheck-", dir=".")
    plan = build_plan(load_rig(args.rig))
    probe = LocalProbe()
    ctx = HostContext(plan, args.host, probe, out_dir=os.path.abspath(directory), seconds=600.0)
    rate = disk.rate_bytes_s(ctx)
    nbytes = disk.write_bytes(rate)
    mib = nbytes >> 20
    print(f"rig {Path(args.rig).name} host {args.host}: raw rate {rate / 1e6:.0f} MB/s, timed write {mib} MiB "
          f"into {ctx.out_dir}; {args.repeat} repeats, interleaved")
    item_s: dict[str, list[float]] = defaultdict(list)
    totals, ours, dds = [], [], []
    for _ in range(args.repeat):
        started = time.perf_counter()
        for name, check in CHECKS:
            t0 = time.perf_counter()
            check(ctx)
            item_s[name].append(time.perf_counter() - t0)
        totals.append(time.perf_counter() - started)
        seconds = probe.timed_write(ctx.out_dir, nbytes)
        assert seconds is not None, f"cannot write in {ctx.out_dir}"
        ours.append(nbytes / seconds / 1e6)
        dds.append(nbytes / dd_seconds(ctx.out_dir, mib) / 1e6)
    if args.dir is None:
        os.rmdir(directory)
    print("\n| item | median ms | max ms |\n| --- | --- | --- |")
    for name, _ in CHECKS:
        print(f"| {name} | {1e3 * statistics.median(item_s[name]):.1f} | {1e3 * max(item_s[name]):.1f} |")
    print(f"| all items | {1e3 * statistics.median(totals):.1f} | {1e3 * max(totals):.1f} |")
    ratios = [a / b for a, b in zip(ours, dds, strict=True)]
    print("\n| write | median MB/s | min - max MB/s |\n| --- | --- | --- |")
    print(f"| rigsync's timed write ({mib} MiB, random, fsync) | {statistics.median(ours):.0f} | "
          f"{min(ours):.0f} - {max(ours):.0f} |")
    print(f"| dd bs=1M conv=fsync (baseline) | {statistics.median(dds):.0f} | {min(dds):.0f} - {max(dds):.0f} |")
    shown = ", ".join(f"{r:.2f}" for r in ratios)
    print(f"\nratio ours / dd per repeat: {shown}; median {statistics.median(ratios):.2f}")


if __name__ == "__main__":
    main()
