"""The NIC readers' parsers on real outputs (fixtures/nic/README.md says where each came from)."""

from __future__ import annotations

import pytest

from rigsync.hostcheck.nic_read import Link, Rings, parse_ethtool_speed, parse_ip_link, parse_rings

from .conftest import FIXTURES

NIC = FIXTURES / "nic"


def _text(name: str) -> str:
    return (NIC / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "rings"), [
    ("ethtool-g_virtio-net_here.txt", Rings(256, 256, 256, 256)),
    ("ethtool-g_e1000e_talos-9167.txt", Rings(4096, 256, 4096, 256)),
    ("ethtool-g_at-max_ifupdown2-256.txt", Rings(4096, 4096, 4096, 4096)),
    ("ethtool-g_viona_propolis-1056.txt", Rings(256, 256, 2048, 2048)),
    ("ethtool-g_aqc113_systemd-41289.txt", Rings(8184, 2048, 8184, 4096)),
])
def test_ring_sizes_are_read_from_old_new_and_headingless_ethtool_output(name: str, rings: Rings) -> None:
    """RX/TX maximum and current come from their sections; RX Mini/Jumbo, RX Buf Len, TX push... are not rings."""
    assert parse_rings(_text(name)) == rings


def test_output_without_current_sizes_or_rings_is_not_read_as_rings() -> None:
    """Only the maximums (a truncated paste), an error message or nothing: no ring sizes."""
    assert parse_rings(_text("ethtool-g_r8169-maximums-only_linux-1132.txt")) is None
    assert parse_rings(_text("ethtool-g_veth_here.stderr")) is None
    assert parse_rings("") is None


def test_link_speed_in_mbit_s_or_none_when_the_driver_reports_none() -> None:
    """``Speed: 10000Mb/s`` (veth), ``1000Mb/s`` (a 1000baseT NIC), ``Unknown!`` (virtio): None."""
    assert parse_ethtool_speed(_text("ethtool_veth_here.txt")) == 10000
    assert parse_ethtool_speed(_text("ethtool_1000baseT_dklog-33.txt")) == 1000
    assert parse_ethtool_speed(_text("ethtool_virtio-net_here.txt")) is None
    assert parse_ethtool_speed("Ring parameters for eth0:\n") == "no Speed: line"


def test_mtu_state_and_limits_from_iproute2_json() -> None:
    """``ip -j -d link show``: MTU, operstate, the driver's max_mtu, the link kind and the MAC address."""
    assert parse_ip_link(_text("ip-link_veth_here.json")) == Link("veth0", 1500, "UP", 65535, "veth",
                                                                   "62:7f:e6:ed:5a:c5")
    assert parse_ip_link(_text("ip-link_virtio-net_here.json")) == Link("eth0", 1400, "UP", 65535, None,
                                                                         "02:fc:00:00:00:01")
    assert parse_ip_link('Device "eth9" does not exist.\n') is None
    assert parse_ip_link("[]") is None
