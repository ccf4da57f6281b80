"""Reading a network interface through the probe, in a way that also works inside a network namespace: its MTU and
state from ``ip -j -d link show dev <if>`` (iproute2's JSON), its speed from ``ethtool <if>``, its ring sizes from
``ethtool -g <if>``. Commands run where the probe runs them (``ip netns exec NS ...`` for a namespace), whereas a
file read would see the sysfs of the namespace the reader was started in; ``/sys/class/net`` is read only when
``ip``/``ethtool`` is not installed.

The parsers are pure and tested on real outputs (tests/hostcheck/fixtures/nic/README.md says where each came
from).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from rigsync.hostcheck.probe import Probe, Ran

SYS_NET = "/sys/class/net"


def ip_link_argv(name: str) -> list[str]:
    return ["ip", "-j", "-d", "link", "show", "dev", name]


def ethtool_argv(name: str, option: str | None = None) -> list[str]:
    return ["ethtool", name] if option is None else ["ethtool", option, name]


def first_line(ran: Ran) -> str:
    """The first non-empty line a failed command printed (stderr first), for a finding's ``seen``."""
    for text in (ran.stderr, ran.stdout):
        for line in text.splitlines():
            if line.strip():
                return line.strip()
    return f"exit status {ran.returncode}" if ran.returncode is not None else "no answer"


@dataclass(frozen=True, slots=True)
class Link:
    """An interface as ``ip -j -d link show`` describes it."""

    name: str
    mtu: int
    operstate: str
    """``UP``, ``DOWN``, ``LOWERLAYERDOWN``, ``UNKNOWN`` (drivers that do not report it)..."""
    max_mtu: int | None = None
    """The largest MTU the driver takes (None: not reported)."""
    kind: str | None = None
    """``linkinfo.info_kind``: ``veth``, ``bond``, ``vlan``... (None: a plain device)."""
    mac: str | None = None


@dataclass(frozen=True, slots=True)
class LinkRead:
    """An attempt to read an interface: ``link``, or why not (``missing``: the host has no such interface)."""

    link: Link | None
    source: str
    """The command (or files) read."""
    missing: bool = False
    why: str = ""


def parse_ip_link(stdout: str) -> Link | None:
    """The first interface of ``ip -j [-d] link show`` output (None: not that output)."""
    try:
        data = json.loads(stdout)
    except json.JSONDecodeError:
        return None
    if not isinstance(data, list) or not data or not isinstance(data[0], dict):
        return None
    d = data[0]
    if not isinstance(d.get("ifname"), str) or not isinstance(d.get("mtu"), int):
        return None
    info = d.get("linkinfo")
    kind = info.get("info_kind") if isinstance(info, dict) else None
    max_mtu, mac = d.get("max_mtu"), d.get("address")
    return Link(d["ifname"], d["mtu"], str(d.get("operstate", "UNKNOWN")),
                max_mtu if isinstance(max_mtu, int) else None, kind if isinstance(kind, str) else None,
                mac if isinstance(mac, str) else None)


def read_link(probe: Probe, name: str) -> LinkRead:
    argv = ip_link_argv(name)
    source = " ".join(argv)
    ran = probe.run(argv)
    if ran is None:  # no iproute2: this namespace's sysfs (LocalProbe without a namespace, a recorded host)
        base = f"{SYS_NET}/{name}"
        mtu, state = probe.read(f"{base}/mtu"), probe.read(f"{base}/operstate")
        source = f"{base}/mtu"
        if mtu is None:
            exists = probe.listdir(SYS_NET)
            missing = exists is not None and name not in exists
            return LinkRead(None, source, missing, f"{source} not readable (ip not installed)")
        try:
            return LinkRead(Link(name, int(mtu.strip()), (state or "unknown").strip().upper()), source)
        except ValueError:
            return LinkRead(None, source, why=f"{source} = {mtu.strip()!r} (not a number)")
    if not ran.ok:
        why = first_line(ran)
        return LinkRead(None, source, missing="does not exist" in why, why=why)
    link = parse_ip_link(ran.stdout)
    if link is None:
        return LinkRead(None, source, why=f"unexpected output: {ran.stdout.strip()[:80]!r}")
    return LinkRead(link, source)


_SPEED = re.compile(r"^\s*Speed:\s*(\S+)", re.MULTILINE)


def parse_ethtool_speed(stdout: str) -> int | str | None:
    """``ethtool <if>``'s ``Speed:`` in Mb/s; None: the driver reports none (``Unknown!``); a string: no ``Speed:``
    line (not that output)."""
    m = _SPEED.search(stdout)
    if m is None:
        return "no Speed: line"
    value = m.group(1)
    if value.endswith("Mb/s") and value[:-4].isdigit():
        return int(value[:-4])
    return None


@dataclass(frozen=True, slots=True)
class SpeedRead:
    mbps: int | None
    """The negotiated speed (None: not reported, see ``why``)."""
    source: str
    why: str = ""


def read_speed(probe: Probe, name: str) -> SpeedRead:
    argv = ethtool_argv(name)
    source = " ".join(argv)
    ran = probe.run(argv)
    if ran is None:  # no ethtool: sysfs (-1 or EINVAL when the link is down or the driver has no speed)
        path = f"{SYS_NET}/{name}/speed"
        text = probe.read(path)
        value = text.strip() if text is not None else ""
        if value.lstrip("-").isdigit() and int(value) > 0:
            return SpeedRead(int(value), path)
        return SpeedRead(None, path, f"{path} = {value!r}" if text is not None else f"{path} not readable")
    if not ran.ok:
        return SpeedRead(None, source, first_line(ran))
    speed = parse_ethtool_speed(ran.stdout)
    if isinstance(speed, str):
        return SpeedRead(None, source, speed)
    return SpeedRead(speed, source, "" if speed is not None else "the driver reports no speed (Speed: Unknown!)")


@dataclass(frozen=True, slots=True)
class Rings:
    """``ethtool -g``: the NIC's receive and transmit descriptor rings (None: ``n/a``)."""

    rx_max: int | None
    rx: int | None
    tx_max: int | None
    tx: int | None


_RING = re.compile(r"^(RX|TX):\s+(\S+)\s*$")


def _count(value: str) -> int | None:
    return int(value) if value.isdigit() else None


def parse_rings(stdout: str) -> Rings | None:
    """``ethtool -g`` output: the ``RX:``/``TX:`` lines under "Pre-set maximums:" and "Current hardware settings:"
    (other lines - ``RX Mini``, ``RX Jumbo``, newer ethtool's ``RX Buf Len``, ``CQE Size``, ``TX Push``, ``TCP data
    split``... - are not rings we check). Without the two headings (seen pasted from ethtool 6.x) the first
    ``RX:``/``TX:`` are the maximums and the second the current sizes. None: not that output."""
    section: str | None = None
    found: dict[str, dict[str, str]] = {"max": {}, "cur": {}}
    order: list[tuple[str, str]] = []
    for line in stdout.splitlines():
        text = line.strip()
        if text.startswith("Pre-set maximums"):
            section = "max"
            continue
        if text.startswith("Current hardware settings"):
            section = "cur"
            continue
        m = _RING.match(text)
        if m is None:
            continue
        if section is not None:
            found[section].setdefault(m.group(1), m.group(2))
        order.append((m.group(1), m.group(2)))
    if not found["max"] and not found["cur"]:
        rx = [v for k, v in order if k == "RX"]
        tx = [v for k, v in order if k == "TX"]
        if len(rx) != 2:
            return None
        found = {"max": {"RX": rx[0], "TX": tx[0] if tx else "n/a"},
                 "cur": {"RX": rx[1], "TX": tx[1] if len(tx) > 1 else "n/a"}}
    if "RX" not in found["max"] or "RX" not in found["cur"]:
        return None
    return Rings(_count(found["max"]["RX"]), _count(found["cur"]["RX"]), _count(found["max"].get("TX", "n/a")),
                 _count(found["cur"].get("TX", "n/a")))
