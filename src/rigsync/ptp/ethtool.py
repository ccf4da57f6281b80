"""What each network interface can do for PTP, from ``ethtool -T`` (seeds/000, "Check PTP hardware support").

Software timestamping needs SOF_TIMESTAMPING_SOFTWARE, _TX_SOFTWARE and _RX_SOFTWARE; hardware timestamping
needs SOF_TIMESTAMPING_RAW_HARDWARE, _TX_HARDWARE and _RX_HARDWARE and comes with a PTP hardware clock
(``/dev/ptpN``; newer ethtool prints it as "Hardware timestamp provider index"). A Wi-Fi adapter "cannot be
used for PTP synchronization: it does not support hardware timestamping and does not provide full software
timestamping support, because the SOF_TIMESTAMPING_TX_SOFTWARE capability is missing". ethtool prints
capabilities either as the kernel's flag names or as short names (``hardware-transmit``); both are read.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rigsync.core.errors import RigsyncError
from rigsync.ptp._proc import netns_argv

_SHORT = {
    "hardware-transmit": "TX_HARDWARE", "software-transmit": "TX_SOFTWARE", "hardware-receive": "RX_HARDWARE",
    "software-receive": "RX_SOFTWARE", "software-system-clock": "SOFTWARE", "hardware-raw-clock": "RAW_HARDWARE",
}
_FLAG = re.compile(r"SOF_TIMESTAMPING_([A-Z_]+)")
SOFTWARE_FLAGS = frozenset({"SOFTWARE", "TX_SOFTWARE", "RX_SOFTWARE"})
HARDWARE_FLAGS = frozenset({"RAW_HARDWARE", "TX_HARDWARE", "RX_HARDWARE"})
SYS_NET = Path("/sys/class/net")
WIRELESS_ENTRIES = frozenset({"wireless", "phy80211"})
"""Entries of ``/sys/class/net/<if>`` that only a Wi-Fi interface has."""


def command(name: str) -> list[str]:
    """The command whose output :func:`parse` reads (run here, in a namespace, or through a host probe)."""
    return ["ethtool", "-T", name]


@dataclass(frozen=True)
class InterfaceCaps:
    """One interface's PTP timestamping capabilities."""

    name: str
    capabilities: frozenset[str]
    """SOF_TIMESTAMPING_* flags without the prefix (``TX_HARDWARE``, ``SOFTWARE``...)."""
    phc_index: int | None
    """The PTP hardware clock ``/dev/ptp<index>``, if any."""
    tx_modes: frozenset[str]
    """Hardware transmit timestamp modes (``on``, ``onestep-sync``...)."""
    wireless: bool = False

    @property
    def hardware(self) -> bool:
        return self.capabilities >= HARDWARE_FLAGS and self.phc_index is not None

    @property
    def software(self) -> bool:
        return self.capabilities >= SOFTWARE_FLAGS

    @property
    def timestamping(self) -> str:
        """``hardware``, ``software`` or ``none``: the best PTP timestamping the interface offers."""
        return "hardware" if self.hardware else "software" if self.software else "none"

    @property
    def one_step(self) -> bool:
        return bool({"onestep-sync", "one-step-sync"} & self.tx_modes)  # ethtool 5 / 6 spellings

    def advice(self) -> str:
        if self.wireless:
            missing = sorted(f"SOF_TIMESTAMPING_{f}" for f in SOFTWARE_FLAGS - self.capabilities)
            why = f" ({', '.join(missing)} missing)" if missing else ""
            return (f"Wi-Fi: cannot be used for PTP - no hardware timestamping, incomplete software "
                    f"timestamping{why}. Use a wired Ethernet interface (seeds/000).")
        if self.hardware:
            one_step = " Its NIC can send one-step Sync." if self.one_step else ""
            return (f"hardware timestamping with PTP clock /dev/ptp{self.phc_index}: ptp4l -i {self.name} (hardware "
                    f"mode); on slaves phc2sys -s {self.name} -c CLOCK_REALTIME -O 0 keeps the system clock on it."
                    + one_step)
        if self.software:
            return (f"software timestamping only: ptp4l -i {self.name} -S steers the system clock directly (no "
                    "phc2sys); expect microseconds of jitter where a PTP NIC gives tens of nanoseconds.")
        missing = sorted(f"SOF_TIMESTAMPING_{f}" for f in SOFTWARE_FLAGS - self.capabilities)
        return (f"no PTP timestamping ({', '.join(missing)} missing): ptp4l refuses this interface; use another "
                "one.")


def parse(text: str, name: str, *, wireless: bool = False) -> InterfaceCaps:
    """Parse ``ethtool -T <name>`` output."""
    caps: set[str] = set()
    tx_modes: set[str] = set()
    phc: int | None = None
    section = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        low = line.lower()
        if low.startswith("capabilities"):
            section = "caps"
        elif low.startswith(("ptp hardware clock", "hardware timestamp provider index")):
            value = line.split(":", 1)[1].strip()
            phc = int(value) if value.isdigit() else None
            section = ""
        elif low.startswith("hardware transmit timestamp modes"):
            section = "tx"
        elif low.startswith("hardware receive filter modes") or low.startswith("time stamping parameters"):
            section = ""
        elif section == "caps":
            flag = _FLAG.search(line)
            short = _SHORT.get(line.split()[0])
            if flag:
                caps.add(flag.group(1))
            elif short:
                caps.add(short)
        elif section == "tx":
            tx_modes.add(line.split()[0])
    return InterfaceCaps(name, frozenset(caps), phc, frozenset(tx_modes), wireless)


def interfaces(root: Path = SYS_NET) -> list[str]:
    """Network interfaces of this host (network namespace), loopback left out."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.name != "lo")


def is_wireless(name: str, root: Path = SYS_NET) -> bool:
    return any((root / name / entry).exists() for entry in WIRELESS_ENTRIES)


def wireless_in(entries: list[str] | None) -> bool:
    """Whether a listing of ``/sys/class/net/<if>`` is a Wi-Fi interface's."""
    return bool(WIRELESS_ENTRIES.intersection(entries or ()))


def check(names: list[str] | None = None, *, netns: str | None = None) -> list[InterfaceCaps]:
    """Run ``ethtool -T`` on each interface (all of them by default)."""
    ethtool = shutil.which("ethtool")
    if ethtool is None:
        raise RigsyncError("ethtool is not installed: it tells what each interface can do for PTP "
                           "(Debian/Ubuntu: apt-get install ethtool)")
    prefix = netns_argv(netns)
    if names is None:
        names = _netns_interfaces(netns) if netns else interfaces()
    out = []
    for name in names:
        proc = subprocess.run([*prefix, ethtool, *command(name)[1:]], capture_output=True, text=True, timeout=10,
                              check=False)
        if proc.returncode != 0:
            raise RigsyncError(f"ethtool -T {name}: {proc.stderr.strip() or 'failed'} (the interfaces here: "
                               f"{', '.join(_netns_interfaces(netns) if netns else interfaces()) or 'none'})")
        wireless = is_wireless(name) if netns is None else False
        out.append(parse(proc.stdout, name, wireless=wireless))
    return out


def _netns_interfaces(netns: str) -> list[str]:
    proc = subprocess.run([*netns_argv(netns), "ls", str(SYS_NET)], capture_output=True, text=True, timeout=10,
                          check=False)
    return sorted(n for n in proc.stdout.split() if n != "lo")
