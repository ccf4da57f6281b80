"""A Zenoh (or plain TCP) peer in its own process, for the namespace tests and bench/bench_net.py.

Child side (``python3 zpeer.py ROLE OPTIONS_JSON KEY``, run inside a host's namespace), driven by lines on stdin
and answering with lines on stdout. OPTIONS_JSON holds ``SessionOptions`` fields (``tls``: its ``TlsFiles`` paths;
``scouting``: the interface name).

- ``sub``: subscribes to KEY; prints ``rx <key> <seq> <tx_ns> <rx_ns> <bytes>`` per sample (``tx_ns``/``rx_ns``:
  CLOCK_MONOTONIC, shared by every namespace of the machine).
- ``pub``: publishes on KEY. ``send N SIZE [INTERVAL_S]`` -> ``sent N``; ``match T`` -> ``match 1|0`` (a matching
  subscriber within T s); ``peers`` -> ``peers N`` (the session's connected peers).
- ``tcp-sink``: listens on OPTIONS_JSON's ``listen`` address, prints ``rx`` lines as ``sub``; ``tcp-source``:
  connects to ``connect``, answers ``send`` like ``pub`` (the same bytes, length-prefixed).

Every message starts with seq (u64) and tx_ns (u64). Parent side: ``Peer`` reads the child's lines on a thread
and waits for them with deadlines.
"""

from __future__ import annotations

import json
import queue
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HEAD = struct.Struct("<QQ")
LEN = struct.Struct("<I")


@dataclass(frozen=True)
class Rx:
    key: str
    seq: int
    tx_ns: int
    rx_ns: int
    size: int


class Peer:
    """The parent's handle on a child peer: commands in, lines out (read on a thread), waits with deadlines."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: queue.Queue[str] = queue.Queue()
        self.rx: list[Rx] = []
        self.log: list[str] = []
        """The child's stderr lines (Zenoh's warnings and errors)."""
        for target in (self._read, self._read_log):
            threading.Thread(target=target, daemon=True).start()

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("rx "):
                key, *nums = line.split()[1:]
                self.rx.append(Rx(key, *(int(n) for n in nums)))
            else:
                self.lines.put(line.strip())

    def expect(self, prefix: str, timeout_s: float) -> str:
        """The next line starting with ``prefix`` within ``timeout_s`` (other lines are skipped)."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line.startswith(prefix):
                return line
        raise AssertionError(f"no {prefix!r} line from the peer within {timeout_s} s (exit code "
                             f"{self.proc.poll()}, stderr: {''.join(self.log)[-2000:]})")

    def ask(self, command: str, answer: str, timeout_s: float) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        return self.expect(answer, timeout_s)

    def wait_rx(self, done: Callable[[list[Rx]], bool], timeout_s: float, what: str) -> None:
        until(lambda: done(self.rx), timeout_s, f"{what} (received so far: {len(self.rx)})")


def until(done: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``done`` (a real process's state) until true; fail naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s")
        time.sleep(0.01)


SCRIPT = Path(__file__)


# ---- child side ----------------------------------------------------------------------------------------------

def _payload(seq: int, size: int) -> bytes:
    head = HEAD.pack(seq, time.monotonic_ns())
    return head + bytes(max(0, size - len(head)))


_out_lock = threading.Lock()


def _say(line: str) -> None:
    """One line on stdout in one write: Zenoh's log lines go to stdout too, and may not land inside it."""
    with _out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def _print_rx(key: str, data: bytes | memoryview) -> None:
    rx_ns = time.monotonic_ns()
    seq, tx_ns = HEAD.unpack_from(data)
    _say(f"rx {key} {seq} {tx_ns} {rx_ns} {len(data)}")  # whole lines, from any receiving thread


def _commands(send: Callable[[int, int], None], answer: Callable[[list[str]], str | None]) -> None:
    """Serve stdin: ``send N SIZE [INTERVAL_S]`` (seq numbers continue across sends), or ``answer``'s commands."""
    seq = 0
    _say("ready")
    for line in sys.stdin:
        words = line.split()
        if words and words[0] == "send":
            n, size = int(words[1]), int(words[2])
            interval_s = float(words[3]) if len(words) > 3 else 0.0
            for _ in range(n):
                send(seq, size)
                seq += 1
                if interval_s:
                    time.sleep(interval_s)
            _say(f"sent {n}")
        elif words and (reply := answer(words)) is not None:
            _say(reply)


def _zenoh(role: str, options: dict[str, object], key: str) -> None:
    import zenoh

    from rigsync.net.zenoh_session import Scouting, SessionOptions, TlsFiles, open_session

    zenoh.init_log_from_env_or("warn")  # a refused TLS handshake is logged on stderr
    tls = options.pop("tls", None)
    scouting = options.pop("scouting", None)  # the interface name
    opts = SessionOptions(**{k: tuple(v) if isinstance(v, list) else v for k, v in options.items()},  # type: ignore[arg-type]
                          tls=TlsFiles(**{k: Path(v) for k, v in tls.items()}) if isinstance(tls, dict) else None,
                          scouting=Scouting(str(scouting)) if scouting is not None else None)
    with open_session(opts) as session:
        if role == "sub":
            def on_sample(sample: zenoh.Sample) -> None:
                _print_rx(str(sample.key_expr), sample.payload.to_bytes())

            session.declare_subscriber(key, on_sample)
            _say("ready")
            sys.stdin.read()  # until the parent closes stdin or stops the process
            return
        pub = session.declare_publisher(key, congestion_control=zenoh.CongestionControl.BLOCK)

        def answer(words: list[str]) -> str | None:
            if words[0] == "match":
                deadline = time.monotonic() + float(words[1])
                while not pub.matching_status.matching and time.monotonic() < deadline:
                    time.sleep(0.02)
                return f"match {int(pub.matching_status.matching)}"
            if words[0] == "peers":
                return f"peers {len(session.info.peers_zid())}"
            return None

        _commands(lambda seq, size: pub.put(_payload(seq, size)), answer)


def _tcp(role: str, options: dict[str, object], key: str) -> None:
    def address(field: str) -> tuple[str, int]:
        host, _, port = str(options[field]).rpartition(":")
        return host, int(port)

    if role == "tcp-source":
        with socket.create_connection(address("connect"), timeout=10) as conn:
            _commands(lambda seq, size: conn.sendall(LEN.pack(size) + _payload(seq, size)), lambda _: None)
        return
    with socket.create_server(address("listen"), reuse_port=True) as server:
        _say("ready")
        while True:  # until stopped
            conn, _ = server.accept()
            threading.Thread(target=_tcp_receive, args=(conn, key), daemon=True).start()


def _tcp_receive(conn: socket.socket, key: str) -> None:
    with conn, conn.makefile("rb") as f:
        while head := f.read(LEN.size):
            (size,) = LEN.unpack(head)
            _print_rx(key, f.read(size))


def main() -> None:
    role, options, key = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
    if role.startswith("tcp-"):
        _tcp(role, options, key)
    else:
        _zenoh(role, options, key)


if __name__ == "__main__":
    main()
