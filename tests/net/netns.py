"""Several "hosts" on this machine: one network namespace per host, joined to a bridge by veth pairs.

The bridge lives in a namespace of its own (the hub), so nothing is added to the machine's own network: each host
namespace holds one end of a veth pair (``v<host>``, an address in a private test subnet), the hub holds the other
end (``p<i>``) enslaved to the bridge. Names carry a per-run prefix (``rs<pid>n<k>``), so parallel runs do not
clash, and everything is removed on exit, also when a test fails (the namespaces' processes are killed first).

Used by the PTP tests (two hosts), the transport tests and ``bench/bench_net.py``. ``skip_reason()`` says why
namespaces cannot be made here (not root, no ``ip``); the fixtures skip with it.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SUBNET = "10.231.0"
"""A private /24 that exists only inside the test namespaces (each run has its own bridge, so runs may share it)."""

_counter = itertools.count()


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=20)


class NetnsError(RuntimeError):
    """An ``ip``/``tc`` command failed while building or changing the test network."""

    def __init__(self, argv: Sequence[str], stderr: str) -> None:
        super().__init__(f"{' '.join(argv)}: {stderr.strip()}")


def _must(*argv: str) -> None:
    proc = _run(*argv)
    if proc.returncode != 0:
        raise NetnsError(argv, proc.stderr)


def skip_reason(*tools: str) -> str | None:
    """Why namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespace tests need root: they create namespaces (ip netns add)"
    for tool in ("ip", "tc", *tools):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian/Ubuntu: apt-get install iproute2)"
    return None


@dataclass(frozen=True)
class Host:
    name: str
    ns: str
    iface: str
    """The host's interface inside its namespace."""
    hub_iface: str
    """The other end of its veth pair, on the bridge in the hub namespace."""
    address: str


def kill_namespace(ns: str) -> None:
    """SIGKILL every process left in ``ns``, then delete it."""
    for pid in _run("ip", "netns", "pids", ns).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    _run("ip", "netns", "del", ns)


class Lan:
    """Host namespaces on one bridge; use ``open_lan``. Helpers run processes in a host and degrade its link."""

    def __init__(self, tag: str, hosts: dict[str, Host]) -> None:
        self.tag = tag
        self.hub_ns = f"{tag}-hub"
        self.hosts = hosts

    @property
    def namespaces(self) -> list[str]:
        return [self.hub_ns, *(h.ns for h in self.hosts.values())]

    def popen(self, host: str, argv: Sequence[str], **kwargs: object) -> subprocess.Popen[str]:
        """Start ``argv`` inside ``host``'s namespace (environment, PYTHONPATH included, inherited)."""
        return subprocess.Popen(["ip", "netns", "exec", self.hosts[host].ns, *argv], text=True,
                                **kwargs)  # type: ignore[call-overload]

    def python(self, host: str, script: Path | str, *args: str) -> subprocess.Popen[str]:
        """``python3 script args`` inside ``host``'s namespace, stdin/stdout piped (line-buffered text)."""
        return self.popen(host, [sys.executable, "-u", str(script), *args], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=1)

    def link(self, host: str, up: bool) -> None:
        """Take ``host``'s link down (both ends of its veth pair) or bring it back up."""
        h = self.hosts[host]
        state = "up" if up else "down"
        _must("ip", "-n", h.ns, "link", "set", h.iface, state)
        _must("ip", "-n", self.hub_ns, "link", "set", h.hub_iface, state)

    def netem(self, host: str, delay_ms: float = 0.0, loss_pct: float = 0.0, rate_mbit: float | None = None) -> None:
        """``tc qdisc netem`` on both directions of ``host``'s link (its egress and the bridge port's)."""
        spec = ["delay", f"{delay_ms}ms", "loss", f"{loss_pct}%"]
        if rate_mbit is not None:
            spec += ["rate", f"{rate_mbit}mbit"]
        h = self.hosts[host]
        for ns, iface in ((h.ns, h.iface), (self.hub_ns, h.hub_iface)):
            _must("ip", "netns", "exec", ns, "tc", "qdisc", "replace", "dev", iface, "root", "netem", *spec)

    def clear_netem(self, host: str) -> None:
        h = self.hosts[host]
        for ns, iface in ((h.ns, h.iface), (self.hub_ns, h.hub_iface)):
            _run("ip", "netns", "exec", ns, "tc", "qdisc", "del", "dev", iface, "root")


def stop(proc: subprocess.Popen[str], timeout_s: float = 5.0) -> int:
    """SIGTERM by pid, then SIGKILL if it has not exited within ``timeout_s``; its return code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout_s)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    return proc.returncode


@contextlib.contextmanager
def open_lan(names: Sequence[str], ifaces: Sequence[str] | None = None) -> Iterator[Lan]:
    """Namespaces for hosts ``names`` (addresses .1, .2, ... of ``SUBNET``), joined by a bridge; removed on exit.

    ``ifaces`` names each host's interface (default ``v<name>``, at most 15 characters). Raises ``NetnsError``
    when a command fails (after removing what was made)."""
    tag = f"rs{os.getpid() % 100_000}n{next(_counter)}"
    ifaces = list(ifaces) if ifaces is not None else [f"v{n}"[:15] for n in names]
    hosts = {n: Host(n, f"{tag}-{n}", ifaces[i], f"p{i}", f"{SUBNET}.{i + 1}") for i, n in enumerate(names)}
    lan = Lan(tag, hosts)
    try:
        _must("ip", "netns", "add", lan.hub_ns)
        _must("ip", "-n", lan.hub_ns, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0")
        _must("ip", "-n", lan.hub_ns, "link", "set", "br0", "up")
        for h in hosts.values():
            _must("ip", "netns", "add", h.ns)
            _must("ip", "link", "add", h.iface, "netns", h.ns, "type", "veth", "peer", "name", h.hub_iface,
                  "netns", lan.hub_ns)
            _must("ip", "-n", lan.hub_ns, "link", "set", h.hub_iface, "master", "br0")
            _must("ip", "-n", lan.hub_ns, "link", "set", h.hub_iface, "up")
            _must("ip", "-n", h.ns, "addr", "add", f"{h.address}/24", "dev", h.iface)
            _must("ip", "-n", h.ns, "link", "set", "lo", "up")
            _must("ip", "-n", h.ns, "link", "set", h.iface, "up")
        yield lan
    finally:
        for ns in lan.namespaces:
            kill_namespace(ns)
