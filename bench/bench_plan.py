"""Plan time at stadium scale: rigs of 200 and 2,000 devices and a rig of 302 free-running ToF cameras.

Rigs (generated as rig files, loaded once per run):

* ``mixed-N``: N devices (N = 200, 2,000) in blocks of 20 on one host each: an Azure Kinect daisy chain (master
  and four subordinates, depth 160 us apart), four RealSense D435 in Genlock from the block's 1.8 V generator,
  three Orbbec Femto Bolts (PRIMARY and two SECONDARY, depth 160 us apart), five PTP GigE Vision cameras and
  two ZED 2i in one rig-wide PTP group (every host a PTP slave of the first), and one UVC webcam. Each block
  stands at its own place around a stadium and looks at its own spot, so the blocks' views do not overlap.
* ``zed-2003``: 2,003 ZED 2i, three per host, one PTP group over all hosts.
* ``tof-302``: 302 Orbbec Femto Bolts without poses (a ring around the centre, every pair sees the same volume)
  and without sync group: 45,451 pairs of lasers on unrelated clocks.

Timed per rig (best of ``--repeat``): ``build_plan``, the terminal rendering (rich, into memory, 160 columns)
and the JSON (``plan_to_json`` + ``json.dumps``); the terminal's line count and the diagnostics count are given.
The same workload runs in the same run against the baseline: the ``src`` tree of ``--baseline`` (a git revision,
by default the last commit before issue 7's planner work) exported with ``git archive`` into a temporary
directory and run once in a subprocess, so today's code and the new code are timed side by side; the ratio of
the ``build_plan`` times is the figure to compare (the machine's speed varies run to run). The baseline's terminal
view is rendered only with ``--baseline-terminal`` (it takes minutes: 274,105 lines for ``tof-302``).

Target: a 2,000-device rig plans in under 3 s on the development machine.

Run: python bench/bench_plan.py [--sizes 200,2000] [--repeat 3] [--baseline REV | --no-baseline] [--write DIR]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_REV = "5bf167e"
"""main before issue 7's planner work (the code that took 9 s for 2,003 ZEDs and 36 s for 302 Bolts)."""

HOST = """
[[hosts]]
name = "{name}"
gpu_memory_mb = 24576
usb_controllers = [{{ name = "c0" }}, {{ name = "c1" }}, {{ name = "c2" }}, {{ name = "c3" }}]
nics = [{{ name = "eth0", kind = "ethernet", timestamping = "hardware", speed_gbps = 10 }}]
"""

DEVICE = """
[[devices]]
id = "{id}"
model = "{model}"
serial = "{serial}"
host = "{host}"
connection = "{connection}"
{pose}streams = [{streams}]
"""

STREAMS = {
    "azure-kinect-dk": '{ kind = "color", width = 1280, height = 720, fps = 30, format = "mjpeg", '
                       'exposure_us = 8000 }, { kind = "depth", width = 640, height = 576, fps = 30 }',
    "realsense-d435": '{ kind = "depth", width = 848, height = 480, fps = 90, exposure_us = 5000 }',
    "orbbec-femto-bolt": '{ kind = "depth", width = 640, height = 576, fps = 30 }',
    "gige-ptp-area-scan": '{ kind = "color", width = 1920, height = 1200, fps = 30, format = "bayer_rggb8", '
                          'exposure_us = 1000 }',
    "zed-2i": '{ kind = "color", width = 1280, height = 720, fps = 30 }',
    "uvc-webcam": '{ kind = "color", width = 640, height = 480, fps = 30, format = "mjpeg" }',
}


def _device(dev_id: str, model: str, host: str, connection: str, pose: str = "") -> str:
    return DEVICE.format(id=dev_id, model=model, serial=dev_id.upper().replace("-", ""), host=host,
                         connection=connection, pose=f"pose = {pose}\n" if pose else "", streams=STREAMS[model])


def _members(ids: list[str], extra: Callable[[int], str]) -> str:
    return ", ".join(f'{{ device = "{d}"{extra(i)} }}' for i, d in enumerate(ids))


def mixed_rig(n_devices: int) -> str:
    """Blocks of 20 devices, one host each, around a stadium (see the module docstring)."""
    blocks = max(1, n_devices // 20)
    parts = [f'[rig]\nname = "mixed-{n_devices}"\n']
    ptp_members: list[str] = []
    for b in range(blocks):
        host = f"h{b}"
        parts.append(HOST.format(name=host))
        angle = 2 * math.pi * b / blocks
        radius = 60.0
        x, y = radius * math.cos(angle), radius * math.sin(angle)
        # Each block looks at its own spot 5 m further out: no view of the scene's centre, none of another block's.
        pose = f"{{ position = [{x:.2f}, {y:.2f}, 2.0], look_at = [{x * 1.1:.2f}, {y * 1.1:.2f}, 1.0] }}"
        kinects = [f"k{b}-{i}" for i in range(5)]
        for i, d in enumerate(kinects):
            parts.append(_device(d, "azure-kinect-dk", host, f"usb:c{i % 4}", pose))
        parts.append(f'\n[[sync]]\nname = "kinect{b}"\nmethod = "hardware"\ntopology = "daisy-chain"\n'
                     f'source = {{ device = "{kinects[0]}" }}\n'
                     f"members = [{_members(kinects, lambda i: f', delay_us = {160 * i}' if i else '')}]\n")
        realsense = [f"r{b}-{i}" for i in range(4)]
        for i, d in enumerate(realsense):
            parts.append(_device(d, "realsense-d435", host, f"usb:c{i % 4}", pose))
        parts.append(f'\n[[triggers]]\nname = "gen{b}"\nrate_hz = 30\nlevel_v = 1.8\npulse_width_us = 150\n')
        parts.append(f'\n[[sync]]\nname = "genlock{b}"\nmethod = "genlock"\ntopology = "star"\n'
                     f'source = {{ trigger = "gen{b}" }}\nmembers = [{_members(realsense, lambda i: "")}]\n')
        bolts = [f"o{b}-{i}" for i in range(3)]
        for i, d in enumerate(bolts):
            parts.append(_device(d, "orbbec-femto-bolt", host, f"usb:c{(i + 1) % 4}", pose))
        parts.append(f'\n[[sync]]\nname = "bolt{b}"\nmethod = "hardware"\ntopology = "daisy-chain"\n'
                     f'source = {{ device = "{bolts[0]}" }}\n'
                     f"members = [{_members(bolts, lambda i: f', depth_delay_us = {160 * i}' if i else '')}]\n")
        for i in range(5):
            parts.append(_device(f"g{b}-{i}", "gige-ptp-area-scan", host, "eth:eth0", pose))
            ptp_members.append(f"g{b}-{i}")
        for i in range(2):
            parts.append(_device(f"z{b}-{i}", "zed-2i", host, f"usb:c{(i + 2) % 4}", pose))
            ptp_members.append(f"z{b}-{i}")
        parts.append(_device(f"w{b}", "uvc-webcam", host, "usb:c3", pose))
    parts.append(f'\n[[sync]]\nname = "lan"\nmethod = "ptp"\nmembers = [{_members(ptp_members, lambda i: "")}]\n'
                 '[sync.ptp]\ngrandmaster = "h0"\n')
    return "".join(parts)


def zed_rig(n_devices: int) -> str:
    """ZED 2i, three per host (one per USB controller), one PTP group over every host."""
    parts = [f'[rig]\nname = "zed-{n_devices}"\n']
    ids = []
    for i in range(n_devices):
        host = f"h{i // 3}"
        if i % 3 == 0:
            parts.append(HOST.format(name=host))
        parts.append(_device(f"z{i}", "zed-2i", host, f"usb:c{i % 3}"))
        ids.append(f"z{i}")
    parts.append(f'\n[[sync]]\nname = "lan"\nmethod = "ptp"\nmembers = [{_members(ids, lambda i: "")}]\n'
                 '[sync.ptp]\ngrandmaster = "h0"\n')
    return "".join(parts)


def tof_rig(n_devices: int) -> str:
    """Free-running Femto Bolts without poses: every pair sees the scene's centre on unrelated clocks."""
    parts = [f'[rig]\nname = "tof-{n_devices}"\n']
    for i in range(n_devices):
        host = f"h{i // 8}"
        if i % 8 == 0:
            parts.append(HOST.format(name=host))
        parts.append(_device(f"b{i}", "orbbec-femto-bolt", host, f"usb:c{i % 4}"))
    hosts = ", ".join(f'"h{h}"' for h in range((n_devices + 7) // 8))
    parts.append(f'\n[[sync]]\nname = "clocks"\nmethod = "ptp"\nmembers = []\n[sync.ptp]\ngrandmaster = "h0"\n'
                 f"hosts = [{hosts}]\n")
    return "".join(parts)


def rigs(sizes: list[int]) -> dict[str, str]:
    out = {f"mixed-{n}": mixed_rig(n) for n in sizes}
    out["zed-2003"] = zed_rig(2003)
    out["tof-302"] = tof_rig(302)
    return out


# --- the worker: times one rig with whichever rigsync is on sys.path ----------------------------------------


def time_rig(text: str, name: str, repeat: int, terminal: bool = True) -> dict[str, float | int]:
    from rich.console import Console

    from rigsync.cli.plan_view import plan_view
    from rigsync.plan import build_plan
    from rigsync.plan.serialize import plan_to_json
    from rigsync.spec import loads_rig

    t0 = time.perf_counter()
    rig = loads_rig(text, f"{name}.toml")
    load_s = time.perf_counter() - t0
    best = {"plan_s": math.inf, "terminal_s": math.inf, "json_s": math.inf}
    lines = json_bytes = diagnostics = 0
    for _ in range(repeat):
        t0 = time.perf_counter()
        plan = build_plan(rig)
        t1 = time.perf_counter()
        sink = io.StringIO()
        if terminal:
            Console(file=sink, width=160, color_system=None).print(plan_view(plan))
        t2 = time.perf_counter()
        doc = json.dumps(plan_to_json(plan))
        t3 = time.perf_counter()
        best = {k: min(best[k], v) for k, v in (("plan_s", t1 - t0), ("terminal_s", t2 - t1 if terminal else math.nan),
                                                  ("json_s", t3 - t2))}
        lines, json_bytes, diagnostics = sink.getvalue().count("\n"), len(doc), len(plan.diagnostics)
    return {"devices": len(rig.devices), "load_s": load_s, **best, "lines": lines, "json_bytes": json_bytes,
            "diagnostics": diagnostics}


Timings = dict[str, dict[str, float | int]]


def _worker(names: list[str], sizes: list[int], repeat: int, terminal: bool = True) -> Timings:
    texts = rigs(sizes)
    return {name: time_rig(texts[name], name, repeat, terminal) for name in names}


def _baseline(rev: str, names: list[str], sizes: list[int], terminal: bool) -> Timings:
    """Run the same worker against the ``src`` tree of ``rev``, exported into a temporary directory."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "src"], check=True, capture_output=True).stdout
    with tempfile.TemporaryDirectory(prefix="rigsync-baseline-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(tmp, filter="data")
        env = {**os.environ, "PYTHONPATH": str(Path(tmp) / "src")}
        code = (f"import json, sys; sys.path.insert(0, {str(ROOT / 'bench')!r}); import bench_plan; "
                f"print(json.dumps(bench_plan._worker({names!r}, {sizes!r}, 1, {terminal})))")
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env)
    result: Timings = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="200,2000", help="device counts of the mixed rigs")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", default=BASELINE_REV, help="git revision to compare with")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--baseline-terminal", action="store_true",
                        help="also render the baseline's terminal view (minutes: 274,105 lines for tof-302)")
    parser.add_argument("--only", default="", help="comma-separated rig names (default: all)")
    parser.add_argument("--write", metavar="DIR", type=Path,
                        help="only write the rigs as DIR/<name>.toml (to time `rigsync plan` end to end)")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    names = [n for n in rigs(sizes) if not args.only or n in args.only.split(",")]
    if args.write is not None:
        args.write.mkdir(parents=True, exist_ok=True)
        for name, text in rigs(sizes).items():
            if name in names:
                (args.write / f"{name}.toml").write_text(text, encoding="utf-8")
                print(args.write / f"{name}.toml")
        return
    sys.path.insert(0, str(ROOT / "src"))
    new = _worker(names, sizes, args.repeat)
    old = {} if args.no_baseline else _baseline(args.baseline, names, sizes, args.baseline_terminal)
    print(f"{'rig':<12} {'devices':>7} {'load s':>7} {'plan s':>8} {'terminal s':>10} {'json s':>7} {'lines':>8} "
          f"{'diags':>6} | {'baseline plan s':>15} {'json s':>7} {'term s':>7} {'lines':>8} {'diags':>6} {'plan x':>7}")
    for name in names:
        n = new[name]
        row = (f"{name:<12} {n['devices']:>7,} {n['load_s']:>7.2f} {n['plan_s']:>8.3f} {n['terminal_s']:>10.3f} "
               f"{n['json_s']:>7.3f} {n['lines']:>8,} {n['diagnostics']:>6,}")
        if name in old:
            o = old[name]
            term, lines = (f"{o['terminal_s']:>7.2f}", f"{o['lines']:>8,}") if args.baseline_terminal \
                else (f"{'-':>7}", f"{'-':>8}")
            row += (f" | {o['plan_s']:>15.3f} {o['json_s']:>7.2f} {term} {lines} "
                    f"{o['diagnostics']:>6,} {o['plan_s'] / n['plan_s']:>6.0f}x")
        print(row)


if __name__ == "__main__":
    main()
