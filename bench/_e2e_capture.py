"""The capture side of ``bench/bench_net_e2e.py``: the real ``rigsync capture`` command line, run in this process
with one probe added to its Zenoh session, then a JSON summary of what arrived.

Run (inside the capture host's namespace): ``python bench/_e2e_capture.py SUMMARY_JSON -- <rigsync capture args>``
(the args need ``--host``, ``--connect``, ``--origin`` and ``--out``).

The probe is a second subscriber on every frame key of the rig, declared on the capture's own session right after
it opened its agents' drivers: per frame message it keeps the key, the receive time (CLOCK_REALTIME, the clock the
simulated rig's shared timeline runs on, read by every namespace alike), the message size and the header's ``seq``
and ``host_rx_ns`` (the agent host's simulated CLOCK_MONOTONIC when the frame was fully received). Afterwards each
``host_rx_ns`` is turned back into true time with that host's simulated clock (every process's world runs every
host's clocks from the rig's seed), so the added latency is ``receive - true host receive`` in ns, exact up to the
clock reads. The probe copies each payload once (Zenoh's ``to_bytes``) to read 79 header bytes; its CPU time is
reported (``probe_cpu_s``). The capture's result (frames, framesets, drops by reason) is taken from
``CaptureSession.run``. The probe also reads the agents' truth (``@truth``: every frame their worlds delivered to
a host, sent before the frame): ``missing`` lists the delivered frames that never arrived, and where each lies in its
stream: before its first frame that arrived, inside, or after its last. A thread names the process's Python threads
for the benchmark's per-thread CPU figures.
"""

from __future__ import annotations

import contextlib
import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

import rigsync.capture.session as session_module
import rigsync.net.router as router_module
from rigsync.cli.main import main as rigsync_main
from rigsync.core.truth import FrameTruth
from rigsync.drivers.sim._model import SIM_EPOCH_NS
from rigsync.drivers.sim.hosts import SimHost
from rigsync.drivers.sim.world import SimWorld
from rigsync.net import wire
from rigsync.net.keys import Channel, FrameKey, channel_selector, frames_selector, parse_key
from rigsync.net.wire import FRAME_HEADER
from rigsync.plan import build_plan
from rigsync.spec import load_rig

SEQ, HOST_RX = 10, 12  # FRAME_HEADER fields (after the 10 one-byte fields): seq and host_rx_ns, per net/wire.py


def true_rx_ns(host: SimHost, host_rx_ns: int, near_true_ns: int) -> int:
    """The true time at which ``host``'s simulated CLOCK_MONOTONIC read ``host_rx_ns`` (its rate is within a few
    hundred ppm of 1: three fixed-point steps from an instant seconds away are exact to the ns)."""
    t = near_true_ns
    for _ in range(3):
        t -= host.mono_ns(t) - host_rx_ns
    return t


def label_threads(stop: threading.Event) -> None:
    """Give this process's Python threads their names as OS thread names (``/proc/self/task/<tid>/comm``, what the
    benchmark's CPU sampler groups by): ``zenoh-cb`` for Zenoh's callback threads, the thread's own name otherwise."""
    while not stop.wait(0.5):
        for t in threading.enumerate():
            name = "zenoh-cb" if "pyo3" in t.name else t.name
            if t.native_id is not None and t is not threading.main_thread():
                with contextlib.suppress(OSError):
                    Path(f"/proc/self/task/{t.native_id}/comm").write_text(name[:15])


def main() -> None:
    out, sep, *capture_args = sys.argv[1:]
    assert sep == "--", "usage: _e2e_capture.py SUMMARY_JSON -- <rigsync capture args>"
    received: list[tuple[str, int, int, int, int]] = []  # key, seq, host_rx_ns, rx_realtime_ns, bytes
    probe_s = [0.0]
    results: list[Any] = []
    truths: list[FrameTruth] = []

    def on_truth(sample: Any) -> None:
        t0 = time.thread_time()
        msg = wire.decode(sample.payload.to_bytes())
        if isinstance(msg, FrameTruth) and msg.delivered:
            truths.append(msg)
        probe_s[0] += time.thread_time() - t0

    def on_frame(sample: Any) -> None:
        rx_realtime_ns = time.clock_gettime_ns(time.CLOCK_REALTIME)
        t0 = time.thread_time()
        data = sample.payload.to_bytes()
        head = FRAME_HEADER.unpack_from(data)
        received.append((str(sample.key_expr), head[SEQ], head[HOST_RX], rx_realtime_ns, len(data)))
        probe_s[0] += time.thread_time() - t0

    real_open = router_module.open_capture_drivers
    real_run = session_module.CaptureSession.run

    def open_with_probe(rig: Any, plan: Any, session: Any, *args: Any, **kwargs: Any) -> Any:
        drivers = real_open(rig, plan, session, *args, **kwargs)
        session.declare_subscriber(frames_selector(rig.name), on_frame)
        session.declare_subscriber(channel_selector(rig.name, Channel.TRUTH), on_truth)
        return drivers

    def run_and_keep(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = real_run(self, *args, **kwargs)
        results.append(result)
        return result

    router_module.open_capture_drivers = open_with_probe
    session_module.CaptureSession.run = run_and_keep  # type: ignore[method-assign]
    stop = threading.Event()
    threading.Thread(target=label_threads, args=(stop,), daemon=True).start()
    status = rigsync_main(capture_args)
    stop.set()
    usage = resource.getrusage(resource.RUSAGE_SELF)

    rig_path = Path(capture_args[next(i for i, a in enumerate(capture_args) if a.endswith(".toml"))])
    origin_ns = int(capture_args[capture_args.index("--origin") + 1])
    rig = load_rig(rig_path)
    world = SimWorld(rig, build_plan(rig), hosts=[])  # every host's clocks, no device emitted
    frames = []
    for key, seq, host_rx_ns, rx_realtime_ns, size in sorted(received, key=lambda r: r[3]):
        parsed = parse_key(key)
        assert isinstance(parsed, FrameKey)
        rx_true_ns = SIM_EPOCH_NS + rx_realtime_ns - origin_ns
        sent_true_ns = true_rx_ns(world.hosts[parsed.host], host_rx_ns, rx_true_ns)
        frames.append({"host": parsed.host, "stream": f"{parsed.device}/{parsed.stream}", "seq": seq,
                       "rx_realtime_ns": rx_realtime_ns, "latency_ns": rx_true_ns - sent_true_ns, "bytes": size})
    got = {(f["stream"], f["seq"]) for f in frames}
    seqs: dict[str, list[int]] = {}
    for f in frames:
        seqs.setdefault(f["stream"], []).append(f["seq"])
    missing = []
    for t in truths:
        key = f"{t.device}/{t.stream}"
        if (key, t.seq) not in got:
            first, last = min(seqs.get(key, [t.seq + 1])), max(seqs.get(key, [t.seq - 1]))
            where = "before" if t.seq < first else "after" if t.seq > last else "inside"
            missing.append({"stream": key, "seq": t.seq, "where": where})
    result = results[0] if results else None
    summary = {
        "status": status,
        "frames": frames,
        "missing": missing,
        "result": None if result is None else {
            "frames": result.frames, "framesets": result.framesets, "complete": result.complete,
            "dropped": dict(result.dropped), "error": result.error, "duration_s": result.duration_s},
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "probe_cpu_s": probe_s[0],
    }
    Path(out).write_text(json.dumps(summary))
    sys.exit(status)


if __name__ == "__main__":
    main()
