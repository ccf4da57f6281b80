"""How to keep an interface setting after a reboot on this host: NetworkManager (``nmcli`` installed), netplan
(``/etc/netplan`` exists) or, without either, systemd-networkd's files. Each fix says which it is for."""

from __future__ import annotations

from rigsync.hostcheck.probe import Probe

NETPLAN_DIR = "/etc/netplan"


def _nm_connection(name: str) -> str:
    # nmcli(1): -g/--get-values prints the field's value only (the connection active on the device).
    return f'"$(nmcli -g GENERAL.CONNECTION device show {name})"'


def has_network_manager(probe: Probe) -> bool:
    return probe.run(["nmcli", "--version"]) is not None


def has_netplan(probe: Probe) -> bool:
    return probe.listdir(NETPLAN_DIR) is not None


def mtu(probe: Probe, name: str, value: int) -> str:
    """The command (or file line) that keeps ``name``'s MTU at ``value``, naming the tool it is for."""
    if has_network_manager(probe):
        return (f"sudo nmcli connection modify {_nm_connection(name)} 802-3-ethernet.mtu {value} "
                "(NetworkManager)")
    if has_netplan(probe):
        return f"sudo netplan set ethernets.{name}.mtu={value} && sudo netplan apply (netplan)"
    return (f"MTUBytes={value} in the [Link] section of {name}'s .network file in /etc/systemd/network "
            "(systemd-networkd; no NetworkManager or netplan found here)")


def rx_ring(probe: Probe, name: str, value: int, mac: str | None) -> str:
    """The command (or file) that keeps ``name``'s receive ring at ``value`` entries (netplan has no ring key). The
    systemd .link file names the interface itself (``Name=``): a matching .link file replaces 99-default.link, whose
    naming policy would otherwise no longer apply to it."""
    if has_network_manager(probe):
        return f"sudo nmcli connection modify {_nm_connection(name)} ethtool.ring-rx {value} (NetworkManager)"
    return (f"a file /etc/systemd/network/10-{name}.link with [Match] MACAddress={mac or '<its MAC address>'} and "
            f"[Link] Name={name} RxBufferSize={value} (systemd-udevd applies it when the NIC appears, at boot)")
