"""Live, on this machine: a veth pair between two network namespaces made by the test stands for a camera NIC;
the checks read it through LocalProbe(netns=...), and the MTU fix they print, run there, makes them pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from rigsync.hostcheck.finding import Status
from rigsync.hostcheck.probe import LocalProbe
from rigsync.hostcheck.run import check_host

from .nic_rig import HOST, gige_rig


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)


@pytest.fixture
def veth() -> Iterator[tuple[str, str]]:
    """(namespace, interface): one end of a veth pair, MTU 1500, up, its peer up in a second namespace; both
    namespaces (and so the pair) deleted afterwards by name."""
    if os.geteuid() != 0:
        pytest.skip("creating network namespaces needs root")
    if shutil.which("ip") is None:
        pytest.skip("iproute2 (ip) is not installed")
    token = uuid.uuid4().hex[:6]
    namespaces, made = (f"rsnic-{token}-a", f"rsnic-{token}-b"), []
    ifname, peer = f"rsnic{token}", f"rsnic{token}p"  # interface names: at most 15 characters
    try:
        for ns in namespaces:
            done = _ip("netns", "add", ns)
            if done.returncode != 0:
                pytest.skip(f"network namespaces unavailable here: {done.stderr.strip()}")
            made.append(ns)
        done = _ip("link", "add", ifname, "netns", namespaces[0], "type", "veth", "peer", "name", peer, "netns",
                   namespaces[1])
        if done.returncode != 0:
            pytest.skip(f"veth pairs unavailable here: {done.stderr.strip()}")
        for ns, name in zip(namespaces, (ifname, peer), strict=True):
            assert _ip("-n", ns, "link", "set", "dev", name, "up").returncode == 0
        yield namespaces[0], ifname
    finally:
        for ns in made:
            _ip("netns", "del", ns)


def test_mtu_1500_fails_with_the_exact_fix_and_passes_once_it_is_applied(veth: tuple[str, str],
                                                                          tmp_path: Path) -> None:
    """A GigE camera needing 9000 on a 1500 veth: nic-mtu fails with ``sudo ip link set dev <if> mtu 9000``; run
    in the namespace, that command makes the same check pass; a camera set to 1500-byte packets passes on 1500.
    Ring (veth has none) skips, speed (10000) passes."""
    ns, ifname = veth
    plan = gige_rig(tmp_path / "live.toml", ifname, cameras=1, width=1920, height=1200, fps=30, pixel_format="mono8")
    probe = LocalProbe(netns=ns)
    found = {f.item: f for f in check_host(plan, HOST, probe)}
    mtu = found["nic-mtu"]
    assert (mtu.status, mtu.subject, mtu.seen) == (Status.FAIL, ifname, f"MTU 1500 (ip -j -d link show dev {ifname}) "
                                                   "drops the packets of cam-0 9000 (assumed)")
    command = mtu.fix.split(" (now, until reboot); to keep it: ")[0]
    assert command == f"sudo ip link set dev {ifname} mtu 9000"
    if shutil.which("ethtool") is not None:  # read in the namespace too
        speed, ring = found["nic-speed"], found["nic-ring"]
        assert (speed.status, speed.seen) == (Status.PASS, f"10000 Mb/s (ethtool {ifname})")
        assert ring.status is Status.SKIP
        assert ring.seen.startswith(f"netlink error: Operation not supported (ethtool -g {ifname})")

    small = gige_rig(tmp_path / "small.toml", ifname, cameras=1, width=1920, height=1200, fps=30,
                     pixel_format="mono8", packet_sizes=(1500,))
    [fits] = [f for f in check_host(small, HOST, probe) if f.item == "nic-mtu"]  # the same 1500 link: 1500 fits
    assert (fits.status, fits.seen, fits.fix) == (Status.PASS, f"MTU 1500 (ip -j -d link show dev {ifname})", "")

    assert subprocess.run(["ip", "netns", "exec", ns, *command.split()[1:]], check=False).returncode == 0
    [mtu] = [f for f in check_host(plan, HOST, probe) if f.item == "nic-mtu"]
    assert (mtu.status, mtu.seen, mtu.fix) == (Status.PASS, f"MTU 9000 (ip -j -d link show dev {ifname})", "")
