"""Zenoh across network namespaces: throughput from 3 publisher hosts to 1 subscriber host against a plain TCP stream of
the same bytes between the same namespaces in the same run, and one-way latency of a small message.

1. Throughput: each of 3 publisher namespaces sends N messages of 300 KB (a 320x240 RGB-D frame is ~230 KB, a
   640x480 RGB one ~920 KB) as fast as it can, all three at once, to one subscriber namespace: Zenoh over TCP, Zenoh
   over TLS with mutual authentication, and the baseline: 3 plain TCP connections carrying the same bytes
   (length-prefixed) to one receiving process. MB/s = bytes received / (last receive - first send); the ratio to
   the baseline is the figure (target >= 0.8). Zenoh publishers use congestion control BLOCK (nothing dropped).
2. Latency: one publisher sends 64-byte messages every 5 ms; one-way latency = receive - send on CLOCK_MONOTONIC
   (every namespace shares the kernel's clock), p50/p99.

All processes are Python (tests/net/zpeer.py) in namespaces joined by veth pairs to a bridge (tests/net/netns.py);
needs root. Run: python bench/bench_net.py  [--messages 100 --rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.net.netns import Lan, open_lan, skip_reason, stop  # noqa: E402
from tests.net.zpeer import SCRIPT, Peer  # noqa: E402

from rigsync.net.certs import RigCerts, init_certs  # noqa: E402

PUBLISHERS = ("p1", "p2", "p3")
SIZE = 300_000


def _tls(files: RigCerts, host: str) -> dict[str, str]:
    own = files.host(host)
    return {"root_ca": str(files.ca_cert), "cert": str(own.cert), "key": str(own.key)}


class Setup:
    def __init__(self, lan: Lan, files: RigCerts) -> None:
        self.lan = lan
        self.files = files
        self.port = 7500

    def start(self, kind: str) -> tuple[Peer, list[Peer]]:
        """The receiver and the 3 senders of ``kind`` (tcp, zenoh-tcp, zenoh-tls), connected."""
        self.port += 1
        address = f"{self.lan.hosts['sub'].address}:{self.port}"
        proto = kind.removeprefix("zenoh-")
        endpoint = f"{proto}/{address}"

        def options(host: str, side: str) -> dict[str, object]:
            if kind == "tcp":
                return {side: address}
            return {side: [endpoint], **({"tls": _tls(self.files, host)} if proto == "tls" else {})}

        roles = ("tcp-sink", "tcp-source") if kind == "tcp" else ("sub", "pub")
        sub_opts, pub_opts = options("sub", "listen"), lambda h: options(h, "connect")
        sub = Peer(self.lan.python("sub", SCRIPT, roles[0], json.dumps(sub_opts), "bench/**"))
        sub.expect("ready", 20)
        pubs = [Peer(self.lan.python(h, SCRIPT, roles[1], json.dumps(pub_opts(h)), f"bench/{h}")) for h in PUBLISHERS]
        for p in pubs:
            p.expect("ready", 20)
            if kind != "tcp":
                assert p.ask("match 15", "match", 20) == "match 1", "a publisher found no subscriber"
        return sub, pubs


def throughput(setup: Setup, kind: str, messages: int) -> float:
    """MB/s from the 3 publishers to the subscriber."""
    sub, pubs = setup.start(kind)
    try:
        for p in pubs:
            assert p.proc.stdin is not None
            p.proc.stdin.write(f"send {messages} {SIZE}\n")
            p.proc.stdin.flush()
        for p in pubs:
            p.expect("sent", 300)
        sub.wait_rx(lambda rx: len(rx) >= messages * len(pubs), 60, "every message")
        first_tx = min(r.tx_ns for r in sub.rx)
        last_rx = max(r.rx_ns for r in sub.rx)
        assert sum(r.size for r in sub.rx) == messages * len(pubs) * SIZE
        return sum(r.size for r in sub.rx) / ((last_rx - first_tx) / 1e9) / 1e6
    finally:
        for p in (sub, *pubs):
            stop(p.proc)


def latency(setup: Setup, kind: str, messages: int = 500) -> tuple[float, float]:
    """p50, p99 of the one-way latency (ms) of 64-byte messages every 5 ms from one publisher."""
    sub, pubs = setup.start(kind)
    try:
        pubs[0].ask(f"send {messages} 64 0.005", "sent", 60)
        sub.wait_rx(lambda rx: len(rx) >= messages, 20, "every message")
        lat_ms = sorted((r.rx_ns - r.tx_ns) / 1e6 for r in sub.rx)
        return statistics.median(lat_ms), lat_ms[int(0.99 * (len(lat_ms) - 1))]
    finally:
        for p in (sub, *pubs):
            stop(p.proc)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=100, help="300 KB messages per publisher per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds, each measuring every kind in turn")
    args = parser.parse_args()
    reason = skip_reason()
    if reason is not None:
        sys.exit(f"cannot run: {reason}")
    kinds = ("tcp", "zenoh-tcp", "zenoh-tls")
    with tempfile.TemporaryDirectory() as tmp, open_lan(["sub", *PUBLISHERS]) as lan:
        addresses = {n: [h.address] for n, h in lan.hosts.items()}
        files = init_certs("bench", list(lan.hosts), Path(tmp), addresses)
        setup = Setup(lan, files)
        rates: dict[str, list[float]] = {k: [] for k in kinds}
        for r in range(args.rounds):
            for kind in kinds:
                rates[kind].append(throughput(setup, kind, args.messages))
            print(f"round {r + 1}: " + ", ".join(f"{k} {rates[k][-1]:.0f} MB/s" for k in kinds), flush=True)
        base = statistics.median(rates["tcp"])
        print(f"\nthroughput, 3 publishers -> 1 subscriber, {SIZE // 1000} KB messages, {args.messages} per publisher,"
              f" median of {args.rounds} rounds:")
        for kind in kinds:
            med = statistics.median(rates[kind])
            ratios = [z / t for z, t in zip(rates[kind], rates["tcp"], strict=True)]
            print(f"  {kind:10s} {med:7.0f} MB/s  ratio to plain TCP {med / base:.3f} "
                  f"(per round {', '.join(f'{x:.2f}' for x in ratios)})")
        print("\none-way latency, 64 B every 5 ms, 500 messages:")
        for kind in kinds:
            p50, p99 = latency(setup, kind)
            print(f"  {kind:10s} p50 {p50:.3f} ms  p99 {p99:.3f} ms")


if __name__ == "__main__":
    main()
