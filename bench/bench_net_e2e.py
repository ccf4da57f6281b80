"""Agents to the capture across network namespaces, end to end: real ``rigsync agent`` processes (simulated RealSense
D435 RGB-D cameras, one host's share of the world each) and the real ``rigsync capture`` command in another namespace.

1. Throughput: 3 agents (``--cameras`` each, colour rgb8 + depth 16UC1 1280x720 streams at 30 fps rendered at each of
   ``--widths``: the offered load) to the capture, over Zenoh TCP and over Zenoh TLS with mutual authentication
   (recorded to /dev/shm, ``--compression none`` by default); against it, in the same run, 3 plain TCP
   connections from the same namespaces to the capture's namespace carrying the same bytes (the same message sizes
   and counts as the frames the capture received, length-prefixed, as fast as they go: tests/net/zpeer.py). Agents
   publish in real time, so their MB/s is what the rig produces unless the path cannot carry it (frames lost);
   the plain stream's MB/s is what the link carries. Ratio = agents' MB/s / plain TCP MB/s (target >= 0.8).
   "Lost on the way": frames the agents counted as published (``rigsync agent``'s last line) that the capture never
   received, and the frames the agents' truth says were delivered to their host that never reached the capture (and
   where: before the first frame of their stream that did, inside, or after its last); "capture drops": the
   capture's own accounting (frames in no frameset, by reason).
2. Added latency: per frame, the capture's receive time minus the frame's true receive time at its agent's host
   (``bench/_e2e_capture.py``: every namespace reads the one kernel clock), p50/p99, under the throughput load and
   at a light load (one 320x240 RGB-D camera per agent); target p99 < 33.3 ms (one frame period at 30 fps).
3. Cameras: N simulated 320x240 RGB-D cameras at 30 fps over 4 agents (N/4 each), N = ``--counts`` upward until
   one fails. A count passes when every frame the agents sent reached the capture and none is in no frameset (the
   capture's own accounting: drops by reason). Each run names what bound it from the CPU use of every process
   (/proc/<pid>/stat over the capture) and of the machine (/proc/stat).

Needs root (network namespaces, tests/net/netns.py). Run: python bench/bench_net_e2e.py [--seconds 8] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.net.netns import Lan, open_lan, skip_reason, stop  # noqa: E402
from tests.net.zpeer import SCRIPT, Peer  # noqa: E402

from rigsync.net.certs import init_certs  # noqa: E402

CAPTURE = Path(__file__).with_name("_e2e_capture.py")
AGENTS = ("a1", "a2", "a3", "a4")
RIG_NAME = "bench-e2e"
FRAME_PERIOD_MS = 1000 / 30
TICK_S = 1 / os.sysconf("SC_CLK_TCK")
COUNTS = ("frames sent | received (lost on the way: by the agents' count; by truth, and where: before a stream's "
          "first frame received, inside, after its last) | capture drops")
LATENCY = "latency ms: p50 / p99 / p99 with warm-up / max"
PYTHON_THREADS = ("main", "python", "zenoh-cb", "rigsync-recorde")
"""Thread groups that run Python (one interpreter lock per process), as CpuSampler names them."""
MIN_FRAMES = 30
"""A capture that received fewer frames is reported as failed, without rates or latencies."""
WARMUP_S = 0.5
"""Latency percentiles leave out the first frames: those received in this many seconds from the first."""


def rig_text(agents: int, per_agent: int, width: int, size: tuple[int, int]) -> str:
    """``per_agent`` D435 cameras (colour rgb8 + depth at 30 fps, each on its own USB controller) on each of
    ``agents`` hosts, a capture host ``cap`` without devices; one software sync group, the hosts' clocks tied by
    PTP (grandmaster ``cap``)."""
    hosts = ["cap", *AGENTS[:agents]]
    nic = 'nics = [{ name = "eth0", timestamping = "hardware" }]'
    lines = [f'[rig]\nname = "{RIG_NAME}"\n\n[sim]\nseed = 1\nrender_width = {width}\n',
             f'\n[[hosts]]\nname = "cap"\n{nic}\n']
    for host in hosts[1:]:
        controllers = ", ".join(f'{{ name = "u{j}" }}' for j in range(per_agent))
        lines.append(f'\n[[hosts]]\nname = "{host}"\nusb_controllers = [{controllers}]\n{nic}\n')
    ids = []
    w, h = size
    for a, host in enumerate(hosts[1:]):
        for j in range(per_agent):
            ids.append(f"c{a * per_agent + j:02d}")
            lines.append(f"""
[[devices]]
id = "{ids[-1]}"
model = "realsense-d435"
serial = "RS{len(ids):04d}"
host = "{host}"
connection = "usb:u{j}"
streams = [
  {{ kind = "color", width = {w}, height = {h}, fps = 30, format = "rgb8" }},
  {{ kind = "depth", width = {w}, height = {h}, fps = 30, exposure_us = 8000 }},
]
""")
    members = ", ".join(f'{{ device = "{i}" }}' for i in ids)
    agent_hosts = ", ".join(f'"{h}"' for h in hosts[1:])
    lines.append(f'\n[[sync]]\nname = "all"\nmethod = "software"\nmembers = [{members}]\n'
                 f'\n[[sync]]\nname = "lan"\nmethod = "ptp"\nmembers = []\n[sync.ptp]\ngrandmaster = "cap"\n'
                 f"hosts = [{agent_hosts}]\n")
    return "".join(lines)


class CpuSampler:
    """CPU ticks of some processes, of their threads by kind, and of the whole machine, every 0.25 s on a thread,
    stamped on CLOCK_REALTIME. A process's threads are grouped by name: ``main`` (its first thread: the capture
    loop), Zenoh's Rust threads (``rx`` receive, ``tx``, ``net``, ``acc``, ``app``...), in the capture the Python
    threads its probe names (``zenoh-cb``: the subscriber callbacks, decoding; ``rigsync-recorde``: the writer), and
    ``python`` for the other Python threads (in an agent: its poll loop, rendering and publishing)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.samples: list[tuple[int, dict[str, int]]] = []  # realtime ns, ticks per process, thread group, machine
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @staticmethod
    def _stat(path: Path) -> tuple[str, int] | None:
        """(command name, utime + stime ticks) of a /proc stat file (fields 2, 14 and 15 of proc(5))."""
        try:
            head, _, rest = path.read_text().rpartition(")")
        except OSError:
            return None
        fields = rest.split()
        return head.partition("(")[2], int(fields[11]) + int(fields[12])

    def _process(self, name: str, pid: int) -> dict[str, int]:
        total = self._stat(Path(f"/proc/{pid}/stat"))
        if total is None:
            return {}
        out = {name: total[1]}
        for task in Path(f"/proc/{pid}/task").glob("*"):
            stat = self._stat(task / "stat")
            if stat is None:
                continue
            comm, ticks = stat
            group = "main" if task.name == str(pid) else "python" if comm.startswith("python") else \
                comm.rstrip("0123456789").rstrip("-")
            key = f"{name}/{group}"
            out[key] = out.get(key, 0) + ticks
        return out

    @staticmethod
    def _machine_busy() -> int:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        return sum(values) - values[3] - values[4]  # all but idle and iowait

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            ticks = {"machine": self._machine_busy()}
            for name, pid in self.pids.items():
                ticks.update(self._process(name, pid))
            self.samples.append((time.clock_gettime_ns(time.CLOCK_REALTIME), ticks))

    def close(self) -> None:
        self._stop.set()
        self._thread.join()

    def cores(self, begin_ns: int, end_ns: int) -> dict[str, float]:
        """Cores used by each process, thread group (``process/group``) and the machine (``machine``) between the
        first and last samples inside [begin, end] (a thread group whose threads ended in between counts 0)."""
        inside = [s for s in self.samples if begin_ns <= s[0] <= end_ns]
        if len(inside) < 2:
            return {}
        (t0, a), (t1, b) = inside[0], inside[-1]
        dt_s = (t1 - t0) / 1e9
        return {k: max(0, b[k] - a[k]) * TICK_S / dt_s for k in a.keys() & b.keys()}


@dataclass
class Run:
    """One capture: what the agents sent, what the capture received and recorded, the CPU each process used."""

    kind: str
    sent: dict[str, int]
    frames: list[dict[str, Any]]
    result: dict[str, Any]
    cores: dict[str, float]
    probe_cpu_s: float
    sizes: dict[str, Counter[int]] = field(default_factory=dict)
    failed: str | None = None
    """The capture's error line if it failed (its frames until then are still counted)."""
    missing: list[dict[str, Any]] = field(default_factory=list)
    """Frames the agents' truth says were delivered to their host that never reached the capture."""

    @property
    def received(self) -> int:
        return len(self.frames)

    @property
    def lost(self) -> int | None:
        """Frames the agents sent that the capture did not receive (None if an agent's count is unknown)."""
        return None if min(self.sent.values()) < 0 else sum(self.sent.values()) - self.received

    def window_s(self) -> float:
        return float(self.frames[-1]["rx_realtime_ns"] - self.frames[0]["rx_realtime_ns"]) / 1e9

    def rate(self) -> tuple[float, float]:
        """(frames/s, MB/s) received by the capture over its receive window."""
        return self.received / self.window_s(), sum(f["bytes"] for f in self.frames) / self.window_s() / 1e6

    def latency_ms(self) -> tuple[float, float, float, float]:
        """Added latency, ms: p50 and p99 after the first ``WARMUP_S`` of the receive window (the first frames of
        each stream: views rendered and Zenoh routes resolved once), p99 and max of every frame."""
        every = sorted(f["latency_ns"] / 1e6 for f in self.frames)
        since_ns = self.frames[0]["rx_realtime_ns"] + WARMUP_S * 1e9
        steady = sorted(f["latency_ns"] / 1e6 for f in self.frames if f["rx_realtime_ns"] >= since_ns)
        return statistics.median(steady), _p99(steady), _p99(every), every[-1]

    def drops(self) -> dict[str, int]:
        return {k: v for k, v in self.result.get("dropped", {}).items() if k != "warmup"}

    def bound(self, cpus: int) -> str:
        """What bound this run, from the CPU use of the machine and of each process."""
        procs = {n: c for n, c in self.cores.items() if n != "machine" and "/" not in n}
        busiest = max(procs, key=lambda n: procs[n]) if procs else "?"
        threads = sorted(((k.partition("/")[2], c) for k, c in self.cores.items() if k.startswith(f"{busiest}/")),
                         key=lambda kc: -kc[1])
        probe = self.probe_cpu_s / self.window_s()
        use = ", ".join(f"{n} {c:.2f}" for n, c in procs.items())
        use += f"; {busiest}'s threads: " + ", ".join(f"{g} {c:.2f}" for g, c in threads if c >= 0.01)
        use += f" (the latency probe: {probe:.2f})"
        machine = self.cores.get("machine", 0.0)
        python = sum(c for g, c in threads if g in PYTHON_THREADS)
        if python >= 0.9:
            what = f"{busiest}'s Python threads, which share one interpreter lock ({python:.2f} of a core)"
        elif machine >= 0.9 * cpus:
            what = (f"the machine's CPU ({machine:.2f} of {cpus} cores busy, {sum(procs.values()):.2f} of them this "
                    f"run's; busiest: {busiest})")
        elif procs and procs[busiest] >= 0.9:
            what = f"{busiest}'s CPU (one core: {procs[busiest]:.2f})"
        elif self.drops().get("late"):
            what = "the capture's aligner (frames later than their stream's lateness allowance)"
        else:
            what = f"nothing saturated (machine {machine:.2f} of {cpus} cores)"
        failed = f"**the capture failed**: {self.failed}; " if self.failed else ""
        return f"{failed}{what}; cores per process: {use}"


def _finish(proc: subprocess.Popen[str], timeout_s: float) -> tuple[str, str] | None:
    """A process's (stdout, stderr) once it exits, or None if it does not within ``timeout_s`` (it is then killed)."""
    try:
        return proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None


class Bench:
    def __init__(self, lan: Lan, tmp: Path, seconds: float, compression: str) -> None:
        self.lan, self.tmp, self.seconds, self.compression = lan, tmp, seconds, compression
        self.port = 7600
        addresses = {n: [h.address] for n, h in lan.hosts.items()}
        self.certs = init_certs(RIG_NAME, list(lan.hosts), tmp / "certs", addresses)
        self.rigs = 0

    def _endpoint(self, host: str, proto: str) -> str:
        self.port += 1
        return f"{proto}/{self.lan.hosts[host].address}:{self.port}"

    def capture(self, rig: str, agents: int, kind: str) -> Run:
        """Agents ``a1..`` and the capture on ``cap`` for ``--seconds``, over ``kind`` (zenoh-tcp or zenoh-tls)."""
        self.rigs += 1
        rig_path = self.tmp / f"rig{self.rigs}.toml"
        rig_path.write_text(rig)
        proto = kind.removeprefix("zenoh-")
        tls = ["--tls", str(self.certs.ca_cert.parent)] if proto == "tls" else []
        origin = time.clock_gettime_ns(time.CLOCK_REALTIME)
        python = [sys.executable, "-u", "-m", "rigsync.cli.main"]
        procs: dict[str, subprocess.Popen[str]] = {}
        endpoints = []
        summary_path = self.tmp / f"summary{self.rigs}.json"
        try:
            for host in AGENTS[:agents]:
                endpoints.append(self._endpoint(host, proto))
                log = (self.tmp / f"agent-{host}.log").open("w")
                procs[host] = self.lan.popen(host, [*python, "agent", str(rig_path), "--host", host, "--listen",
                                                    endpoints[-1], "--origin", str(origin), *tls],
                                             stdout=subprocess.PIPE, stderr=log)
                log.close()
            for host, proc in procs.items():
                assert proc.stdout is not None
                line = proc.stdout.readline()
                assert "ready" in line, f"agent {host} did not start: {line} {proc.poll()}"
            out = Path("/dev/shm") / f"rigsync-bench-e2e-{os.getpid()}.mcap"
            connect = [a for e in endpoints for a in ("--connect", e)]
            procs["capture"] = self.lan.popen("cap", [
                sys.executable, "-u", str(CAPTURE), str(summary_path), "--", "capture", str(rig_path), "--host", "cap",
                *connect, *tls, "--origin", str(origin), "--seconds", f"{self.seconds:g}", "--out", str(out),
                "--overwrite", "--quiet", "--compression", self.compression],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            sampler = CpuSampler({n: p.pid for n, p in procs.items()})
            try:
                timeout_s = self.seconds + 120
                _, err = _finish(procs["capture"], timeout_s) or ("", f"did not finish within {timeout_s:g} s")
            finally:
                sampler.close()
                out.unlink(missing_ok=True)
            failures = [] if procs["capture"].returncode == 0 else [" ".join(err.split())[-400:]]
            sent = {}
            for host in AGENTS[:agents]:
                procs[host].terminate()
                text, _ = _finish(procs[host], 20) or ("", "")
                m = re.search(r"(\d+) frames sent", text)
                sent[host] = int(m.group(1)) if m else -1
                if m is None:
                    failures.append(f"agent {host} did not exit within 20 s of SIGTERM (killed)")
        finally:
            for proc in procs.values():
                stop(proc)
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        frames = summary.get("frames", [])
        sizes: dict[str, Counter[int]] = {}
        for f in frames:
            sizes.setdefault(f["host"], Counter())[f["bytes"]] += 1
        cores = sampler.cores(frames[0]["rx_realtime_ns"], frames[-1]["rx_realtime_ns"]) if frames else {}
        return Run(kind, sent, frames, summary.get("result") or {}, cores, summary.get("probe_cpu_s", 0.0), sizes,
                   "; ".join(failures) or None, summary.get("missing", []))

    def plain_tcp(self, sizes: dict[str, Counter[int]]) -> float:
        """MB/s of the same messages over one plain TCP connection per agent host, all at once, to ``cap``."""
        address = f"{self.lan.hosts['cap'].address}:{self._endpoint('cap', 'tcp').rpartition(':')[2]}"
        sink = Peer(self.lan.python("cap", SCRIPT, "tcp-sink", json.dumps({"listen": address}), "tcp"))
        sources: list[Peer] = []
        try:
            sink.expect("ready", 20)
            for host in sizes:
                sources.append(Peer(self.lan.python(host, SCRIPT, "tcp-source", json.dumps({"connect": address}),
                                                    "tcp")))
                sources[-1].expect("ready", 20)
            for source, counts in zip(sources, sizes.values(), strict=True):
                assert source.proc.stdin is not None
                source.proc.stdin.write("".join(f"send {n} {size}\n" for size, n in counts.items()))
                source.proc.stdin.flush()
            for source, counts in zip(sources, sizes.values(), strict=True):
                for _ in counts:
                    source.expect("sent", 300)
            total = sum(n for c in sizes.values() for n in c.values())
            sink.wait_rx(lambda rx: len(rx) >= total, 120, "every message")
            assert sum(r.size for r in sink.rx) == sum(s * n for c in sizes.values() for s, n in c.items())
            first_tx, last_rx = min(r.tx_ns for r in sink.rx), max(r.rx_ns for r in sink.rx)
            return sum(r.size for r in sink.rx) / ((last_rx - first_tx) / 1e9) / 1e6
        finally:
            for p in (sink, *sources):
                stop(p.proc)


def _p99(values: list[float]) -> float:
    return values[int(0.99 * (len(values) - 1))]


def _latency_cells(run: Run) -> str:
    p50, p99, p99_all, worst = run.latency_ms()
    verdict = "meets" if p99 < FRAME_PERIOD_MS else "misses"
    return f"{p50:.2f} / **{p99:.2f}** ({verdict}) / {p99_all:.2f} / {worst:.1f}"


def throughput(bench: Bench, args: argparse.Namespace) -> None:
    print(f"\n1. throughput: 3 agents x {args.cameras} RGB-D cameras (1280x720 streams rendered at --widths, 30 fps), "
          f"{bench.seconds:g} s captures, compression {bench.compression}, {args.rounds} round(s)")
    print(f"| width | round | path | {COUNTS} | frames/s | MB/s | plain TCP MB/s, same bytes | ratio | {LATENCY} "
          "| bound by |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for width in args.widths:
        rig = rig_text(3, args.cameras, width, (1280, 720))
        for r in range(args.rounds):
            for kind in ("zenoh-tcp", "zenoh-tls"):
                run = bench.capture(rig, 3, kind)
                if run.received < MIN_FRAMES:
                    print(f"| {width} | {r + 1} | {kind} | {_failed_row(run, 5)}", flush=True)
                    continue
                base = bench.plain_tcp(run.sizes)
                fps, mbs = run.rate()
                print(f"| {width} | {r + 1} | {kind} | {_counts(run)} | {fps:.0f} | {mbs:.0f} | {base:.0f} | "
                      f"**{mbs / base:.2f}** | {_latency_cells(run)} | {run.bound(args.cpus)} |", flush=True)


def _counts(run: Run) -> str:
    """Frames sent | received (lost on the way) | the capture's drops by reason."""
    lost = "?" if run.lost is None else str(run.lost)
    sent = "?" if run.lost is None else str(sum(run.sent.values()))
    drops = ", ".join(f"{k} {v}" for k, v in sorted(run.drops().items())) or "none"
    where = Counter(m["where"] for m in run.missing)
    truth = f"{len(run.missing)}" + "".join(f", {where[w]} {w}" for w in ("before", "inside", "after") if where[w])
    return f"{sent} | {run.received} ({lost}; {truth}) | {drops}"


def _failed_row(run: Run, cells: int) -> str:
    """A table row for a capture that received too little to measure."""
    return f"{_counts(run)} | {' | '.join(['-'] * cells)} | **the capture failed**: {run.failed} |"


def light_latency(bench: Bench, args: argparse.Namespace) -> None:
    rig = rig_text(3, 1, 320, (640, 480))
    print(f"\n2. added latency at a light load: 3 agents x 1 RGB-D camera, 320x240 at 30 fps, {bench.seconds:g} s")
    print(f"| path | {COUNTS} | {LATENCY} |")
    print("| --- | --- | --- | --- | --- |")
    for kind in ("zenoh-tcp", "zenoh-tls"):
        run = bench.capture(rig, 3, kind)
        if run.received < MIN_FRAMES:
            print(f"| {kind} | {_failed_row(run, 0)}", flush=True)
            continue
        failed = f"; **the capture failed**: {run.failed}" if run.failed else ""
        print(f"| {kind} | {_counts(run)} | {_latency_cells(run)}{failed} |", flush=True)


def cameras(bench: Bench, args: argparse.Namespace) -> None:
    print(f"\n3. 320x240 RGB-D cameras at 30 fps over 4 agents, {bench.seconds:g} s each, zenoh-tcp, compression "
          f"{bench.compression}")
    print(f"| cameras | {COUNTS} | complete sets | MB/s | {LATENCY} | verdict | bound by |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    best = 0
    for n in args.counts:
        run = bench.capture(rig_text(4, n // 4, 320, (640, 480)), 4, "zenoh-tcp")
        ok = run.lost == 0 and not run.missing and not run.drops() and run.failed is None
        if run.received < MIN_FRAMES:
            print(f"| {n} | {_failed_row(run, 4)}", flush=True)
            break
        complete = 100 * run.result.get("complete", 0) / max(run.result.get("framesets", 0), 1)
        verdict = "**pass**" if ok else "fail"
        print(f"| {n} | {_counts(run)} | {complete:.1f}% | {run.rate()[1]:.0f} | {_latency_cells(run)} | {verdict} | "
              f"{run.bound(args.cpus)} |", flush=True)
        if not ok:
            break
        best = n
    print(f"largest count captured without a drop: {best} cameras")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds of each capture")
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds (each: TCP then TLS)")
    parser.add_argument("--cameras", type=int, default=2, help="RGB-D cameras per agent in the throughput rig")
    parser.add_argument("--widths", help="render widths of the throughput rig's 16:9 streams, one rig each (the "
                                         "offered load; default 640,960,1280, --quick 640,1280)")
    parser.add_argument("--counts", help="camera counts over 4 agents, multiples of 4, searched upward until one "
                                         "fails (default 4,8,12,16,20,24,32,40, --quick 4,8)")
    parser.add_argument("--compression", choices=("none", "zstd", "lz4"), default="none",
                        help="the capture's recording (written to /dev/shm, deleted after each run)")
    parser.add_argument("--only", choices=("throughput", "latency", "cameras"), action="append",
                        help="run only these parts (repeatable; default: all)")
    parser.add_argument("--quick", action="store_true", help="4 s captures, 1 round, fewer widths and counts")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.rounds = 4.0, 1
    args.widths = args.widths or ("640,1280" if args.quick else "640,960,1280")
    args.counts = args.counts or ("4,8" if args.quick else "4,8,12,16,20,24,32,40")
    args.counts = [int(c) for c in args.counts.split(",")]
    args.widths = [int(w) for w in args.widths.split(",")]
    if any(c <= 0 or c % 4 for c in args.counts):
        parser.error(f"--counts {args.counts}: each count must be a positive multiple of 4 (4 agents)")
    args.cpus = os.cpu_count() or 1
    reason = skip_reason()
    if reason is not None:
        sys.exit(f"cannot run: {reason}")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # SIGTERM: the namespaces and processes are removed
    parts = args.only or ["throughput", "latency", "cameras"]
    load = os.getloadavg()
    print(f"bench_net_e2e: {args.cpus} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the start")
    with tempfile.TemporaryDirectory() as tmp, open_lan(["cap", *AGENTS]) as lan:
        bench = Bench(lan, Path(tmp), args.seconds, args.compression)
        for part, run in (("throughput", throughput), ("latency", light_latency), ("cameras", cameras)):
            if part in parts:
                run(bench, args)
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
