"""The GigE Vision NIC items on recorded hosts (real command outputs, fixtures/nic): pass, warn, fail with the
exact fix, and skip when the interface cannot say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.probe import RecordedProbe
from rigsync.hostcheck.run import check_host
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.spec import load_rig

from .conftest import EXAMPLES, FIXTURES, MakeHost
from .nic_rig import HOST, gige_rig

NIC = FIXTURES / "nic"
IF = "enp1s0f0"
MIB16 = 16 * 1024 * 1024
KEEP = "sudo tee /etc/sysctl.d/60-rigsync-gige.conf"


@pytest.fixture(scope="module")
def two_cams(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """Two 5 MP Bayer cameras at 60 fps on a 10 GbE NIC: 602 MB/s, a 5348 Mb/s line rate at 90%."""
    return gige_rig(tmp_path_factory.mktemp("rig") / "two.toml", IF)


@pytest.fixture(scope="module")
def one_small_cam(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    """One 1920x1200 mono8 camera at 30 fps on a NIC planned at 10 Gb/s: 69 MB/s, fits 1 Gb/s."""
    return gige_rig(tmp_path_factory.mktemp("rig") / "one.toml", IF, cameras=1, width=1920, height=1200, fps=30,
                    pixel_format="mono8")


def _ip_link(mtu: int = 9000, operstate: str = "UP", max_mtu: int = 9702) -> str:
    """The real ``ip -j -d link show`` of a NIC here (virtio), as interface IF with the given values."""
    [d] = json.loads((NIC / "ip-link_virtio-net_here.json").read_text())
    d.update(ifname=IF, mtu=mtu, operstate=operstate, max_mtu=max_mtu)
    return json.dumps([d])


def _ethtool(speed: str) -> str:
    """A real ``ethtool <if>`` (1000baseT NIC) with the Speed: line given."""
    return (NIC / "ethtool_1000baseT_dklog-33.txt").read_text().replace("Speed: 1000Mb/s", f"Speed: {speed}")


def _host(make_host: MakeHost, *, link: object = None, ring: object = "ethtool-g_at-max_ifupdown2-256.txt",
          speed: str = "10000Mb/s", rmem: tuple[int, int] | None = (MIB16, MIB16), netplan: bool = False,
          nmcli: bool = False, ethtool: bool = True) -> RecordedProbe:
    commands: dict[str, object] = {f"ip -j -d link show dev {IF}": _ip_link() if link is None else link}
    if ethtool:
        commands[f"ethtool {IF}"] = _ethtool(speed)
        commands[f"ethtool -g {IF}"] = ring if isinstance(ring, tuple) else (NIC / str(ring)).read_text()
    if nmcli:
        commands["nmcli --version"] = "nmcli tool, version 1.46.0\n"
    files = {"/etc/netplan": "/"} if netplan else {}
    if rmem is not None:
        files |= {"/proc/sys/net/core/rmem_default": f"{rmem[0]}\n", "/proc/sys/net/core/rmem_max": f"{rmem[1]}\n"}
    return make_host(files=files, commands=commands)


def _item(plan: Plan, probe: RecordedProbe, item: str) -> Finding:
    [f] = [f for f in check_host(plan, HOST, probe) if f.item == item]
    return f


# nic-mtu

@pytest.mark.parametrize(("mtu", "status"), [(9000, Status.PASS), (9216, Status.PASS), (8999, Status.FAIL),
                                             (1500, Status.FAIL)])
def test_mtu_against_the_cameras_9000_byte_packets(make_host: MakeHost, two_cams: Plan, mtu: int,
                                                   status: Status) -> None:
    """MTU >= the packet size passes; below it fails with ip link set + systemd-networkd's MTUBytes=."""
    f = _item(two_cams, _host(make_host, link=_ip_link(mtu)), "nic-mtu")
    seen = f"MTU {mtu} (ip -j -d link show dev {IF})"
    assert f.wanted == ("MTU >= 9000 for the GVSP packets of cam-0 9000 (assumed), cam-1 9000 (assumed) (bytes: "
                        "20 IP + 8 UDP + 8 GVSP header + image)")
    if status is Status.PASS:
        assert (f.status, f.subject, f.seen, f.fix) == (status, IF, seen, "")
    else:
        assert (f.status, f.subject) == (status, IF)
        assert f.seen == f"{seen} drops the packets of cam-0 9000 (assumed), cam-1 9000 (assumed)"
        assert f.fix == (f"sudo ip link set dev {IF} mtu 9000 (now, until reboot); to keep it: "
                         f"MTUBytes=9000 in the [Link] section of {IF}'s .network file in /etc/systemd/network "
                         "(systemd-networkd; no NetworkManager or netplan found here); every switch between the "
                         f"cameras and {IF} needs jumbo frames too. Or set packet_size = {mtu} (or less) on cam-0, "
                         "cam-1 in the rig file (more packets per frame)")


@pytest.mark.parametrize(("sizes", "mtu", "status", "over"), [
    ((1500, 1500), 1500, Status.PASS, ""),
    ((1500, 1400), 1500, Status.PASS, ""),
    ((1500, None), 1500, Status.FAIL, "cam-1 9000 (assumed)"),
    ((4000, 1500), 3000, Status.FAIL, "cam-0 4000"),
    ((4000, 1500), 1000, Status.FAIL, "cam-0 4000, cam-1 1500"),
])
def test_each_cameras_packet_size_against_the_mtu(make_host: MakeHost, tmp_path: Path,
                                                  sizes: tuple[int | None, int | None], mtu: int, status: Status,
                                                  over: str) -> None:
    """The rig file's packet_size per camera: the largest sets the MTU needed; a failure names each camera whose
    packets the interface drops, and the fix offers both ways (raise the MTU, or lower those cameras' size)."""
    plan = gige_rig(tmp_path / "sizes.toml", IF, cameras=2, width=1920, height=1200, fps=30, pixel_format="mono8",
                    packet_sizes=sizes)
    f = _item(plan, _host(make_host, link=_ip_link(mtu)), "nic-mtu")
    need = max(s or 9000 for s in sizes)
    shown = ", ".join(f"cam-{i} {s}" if s else f"cam-{i} 9000 (assumed)" for i, s in enumerate(sizes))
    assert f.wanted == (f"MTU >= {need} for the GVSP packets of {shown} (bytes: 20 IP + 8 UDP + 8 GVSP header + "
                        "image)")
    assert f.status is status
    if status is Status.PASS:
        assert (f.seen, f.fix) == (f"MTU {mtu} (ip -j -d link show dev {IF})", "")
        return
    assert f.seen == f"MTU {mtu} (ip -j -d link show dev {IF}) drops the packets of {over}"
    assert f.fix.startswith(f"sudo ip link set dev {IF} mtu {need} (now, until reboot)")
    ids = ", ".join(part.split(" ")[0] for part in over.split(", "))
    assert f.fix.endswith(f"Or set packet_size = {mtu} (or less) on {ids} in the rig file (more packets per "
                          "frame)")


def test_mtu_fix_persists_with_the_hosts_network_configuration(make_host: MakeHost, two_cams: Plan) -> None:
    """netplan present: netplan set; NetworkManager present: nmcli on the device's connection."""
    f = _item(two_cams, _host(make_host, link=_ip_link(1500), netplan=True), "nic-mtu")
    assert f.fix.startswith(f"sudo ip link set dev {IF} mtu 9000 (now, until reboot); to keep it: sudo netplan set "
                            f"ethernets.{IF}.mtu=9000 && sudo netplan apply (netplan)")
    f = _item(two_cams, _host(make_host, link=_ip_link(1500), netplan=True, nmcli=True), "nic-mtu")
    assert (f'to keep it: sudo nmcli connection modify "$(nmcli -g GENERAL.CONNECTION device show {IF})" '
            "802-3-ethernet.mtu 9000 (NetworkManager)") in f.fix


def test_a_nic_without_jumbo_frames_fails_naming_its_limit(make_host: MakeHost, two_cams: Plan) -> None:
    """max_mtu 1500: raising the MTU cannot work, the fix says to change NIC or the cameras' packet size."""
    f = _item(two_cams, _host(make_host, link=_ip_link(1500, max_mtu=1500)), "nic-mtu")
    assert f.status is Status.FAIL
    assert f.seen == (f"MTU 1500 (ip -j -d link show dev {IF}) drops the packets of cam-0 9000 (assumed), cam-1 "
                      "9000 (assumed); the driver takes at most 1500")
    assert f.fix == ("use a NIC that takes jumbo frames (9000), or stream smaller packets: set packet_size = 1500 "
                     f"(or less) on cam-0, cam-1 in the rig file (more packets per frame) and sudo ip link set dev "
                     f"{IF} mtu 1500")


def test_a_missing_interface_fails_and_the_others_skip(make_host: MakeHost, two_cams: Plan) -> None:
    """ip's 'does not exist': nic-mtu fails naming the rig file's field; ring and speed skip."""
    probe = _host(make_host, link=(1, f'Device "{IF}" does not exist.\n'))
    found = {f.item: f for f in check_host(two_cams, HOST, probe)}
    assert found["nic-mtu"].status is Status.FAIL and found["nic-mtu"].seen.startswith(f"no interface {IF}")
    assert "ip -br link" in found["nic-mtu"].fix and 'connection = "eth:<name>"' in found["nic-mtu"].fix
    assert found["nic-ring"].status is Status.SKIP and found["nic-speed"].status is Status.SKIP


def test_without_iproute2_the_mtu_is_read_from_sysfs(make_host: MakeHost, two_cams: Plan) -> None:
    """No ``ip``: /sys/class/net/<if>/mtu; unreadable: a warning."""
    probe = make_host(files={f"/sys/class/net/{IF}/mtu": "1500\n", f"/sys/class/net/{IF}/operstate": "up\n"})
    f = _item(two_cams, probe, "nic-mtu")
    assert (f.status, f.seen) == (Status.FAIL, f"MTU 1500 (/sys/class/net/{IF}/mtu) drops the packets of cam-0 "
                                                "9000 (assumed), cam-1 9000 (assumed)")
    assert _item(two_cams, make_host(), "nic-mtu").status is Status.WARN


# nic-rmem

@pytest.mark.parametrize(("default", "maximum", "status", "fix"), [
    (MIB16, MIB16, Status.PASS, ""),
    (MIB16 * 2, MIB16 * 4, Status.PASS, ""),
    (212992, MIB16, Status.FAIL, f"sudo sysctl -w net.core.rmem_default={MIB16} (now, until reboot); to keep it: "
                                 f"printf 'net.core.rmem_default={MIB16}\\n' | {KEEP}"),
    (MIB16, 212992, Status.WARN, f"sudo sysctl -w net.core.rmem_max={MIB16} (now, until reboot); to keep it: "
                                 f"printf 'net.core.rmem_max={MIB16}\\n' | {KEEP}"),
    (212992, 4194304, Status.FAIL, f"sudo sysctl -w net.core.rmem_max={MIB16} net.core.rmem_default={MIB16} (now, "
                                   f"until reboot); to keep it: printf 'net.core.rmem_max={MIB16}\\n"
                                   f"net.core.rmem_default={MIB16}\\n' | sudo tee /etc/sysctl.d/60-rigsync-gige.conf"),
])
def test_socket_buffers_against_the_documented_16_mib(make_host: MakeHost, two_cams: Plan, default: int,
                                                      maximum: int, status: Status, fix: str) -> None:
    """rmem_default short (the stream socket's buffer): fail; only rmem_max short: warn; each fix sets the short."""
    f = _item(two_cams, _host(make_host, rmem=(default, maximum)), "nic-rmem")
    assert (f.status, f.fix) == (status, fix)
    assert f.seen == f"rmem_default {default}, rmem_max {maximum} bytes (/proc/sys/net/core)"


def test_a_frame_larger_than_16_mib_needs_a_frame_sized_buffer(make_host: MakeHost, tmp_path: Path) -> None:
    """26 MP RGB8 (78643200 bytes a frame): the need is one frame + Aravis's 1024 bytes."""
    plan = gige_rig(tmp_path / "big.toml", IF, cameras=1, width=5120, height=5120, fps=5, pixel_format="rgb8")
    need = 5120 * 5120 * 3 + 1024
    f = _item(plan, _host(make_host, rmem=(MIB16, MIB16)), "nic-rmem")
    assert f.status is Status.FAIL and f"net.core.rmem_max={need} net.core.rmem_default={need}" in f.fix
    assert f"one frame of cam-0 ({5120 * 5120 * 3} bytes) + 1024" in f.wanted
    assert _item(plan, _host(make_host, rmem=(need, need)), "nic-rmem").status is Status.PASS
    assert _item(plan, _host(make_host, rmem=None), "nic-rmem").status is Status.WARN


# nic-ring

def test_a_ring_below_the_nics_maximum_warns_with_the_ethtool_command(make_host: MakeHost, two_cams: Plan) -> None:
    """e1000e RX 256 of 4096: sudo ethtool -G rx 4096, kept by a .link file (or nmcli with NetworkManager)."""
    f = _item(two_cams, _host(make_host, ring="ethtool-g_e1000e_talos-9167.txt"), "nic-ring")
    assert (f.status, f.seen) == (Status.WARN, f"RX 256 of at most 4096 (ethtool -g {IF})")
    assert f.fix == (f"sudo ethtool -G {IF} rx 4096 (now, until reboot); to keep it: a file "
                     f"/etc/systemd/network/10-{IF}.link with [Match] MACAddress=02:fc:00:00:00:01 and [Link] "
                     f"Name={IF} RxBufferSize=4096 (systemd-udevd applies it when the NIC appears, at boot)")
    f = _item(two_cams, _host(make_host, ring="ethtool-g_aqc113_systemd-41289.txt", nmcli=True), "nic-ring")
    assert (f.status, f.seen) == (Status.WARN, f"RX 2048 of at most 8184 (ethtool -g {IF})")
    assert f.fix == (f"sudo ethtool -G {IF} rx 8184 (now, until reboot); to keep it: sudo nmcli connection modify "
                     f'"$(nmcli -g GENERAL.CONNECTION device show {IF})" ethtool.ring-rx 8184 (NetworkManager)')


@pytest.mark.parametrize(("ring", "status", "seen"), [
    ("ethtool-g_at-max_ifupdown2-256.txt", Status.PASS, f"RX 4096 of at most 4096 (ethtool -g {IF})"),
    ("ethtool-g_virtio-net_here.txt", Status.PASS, f"RX 256 of at most 256 (ethtool -g {IF})"),
    ((1, "netlink error: Operation not supported\n"), Status.SKIP,
     f"netlink error: Operation not supported (ethtool -g {IF}): the driver has no ring settings to read (a virtual "
     "NIC such as veth)"),
    ("ethtool-g_r8169-maximums-only_linux-1132.txt", Status.WARN, f"unexpected output of ethtool -g {IF}: "),
])
def test_ring_at_maximum_passes_unsupported_skips_unreadable_warns(make_host: MakeHost, two_cams: Plan,
                                                                   ring: object, status: Status, seen: str) -> None:
    """A ring at its maximum passes; a driver without rings (veth) skips saying so; output not understood warns."""
    f = _item(two_cams, _host(make_host, ring=ring), "nic-ring")
    assert f.status is status and f.seen.startswith(seen)
    assert (f.fix == "") is (status in (Status.PASS, Status.SKIP))


def test_without_ethtool_the_ring_warns_to_install_it(make_host: MakeHost, two_cams: Plan) -> None:
    """ethtool missing: a warning whose fix installs it (the speed then comes from sysfs)."""
    probe = _host(make_host, ethtool=False)
    f = _item(two_cams, probe, "nic-ring")
    assert (f.status, f.fix) == (Status.WARN, "sudo apt install ethtool")


# nic-speed

@pytest.mark.parametrize(("speed", "status"), [("10000Mb/s", Status.PASS), ("25000Mb/s", Status.PASS),
                                               ("5000Mb/s", Status.FAIL), ("1000Mb/s", Status.FAIL)])
def test_two_5mp_cameras_need_5348_mbit_s(make_host: MakeHost, two_cams: Plan, speed: str, status: Status) -> None:
    """602 MB/s at 90% of the line rate: 5 GbE does not carry it (fail), 10 GbE does."""
    f = _item(two_cams, _host(make_host, speed=speed), "nic-speed")
    assert f.status is status and f.seen.startswith(f"{speed[:-4]} Mb/s (ethtool {IF})")
    assert f.wanted == ">= 10000 Mb/s as planned, and >= 5348 Mb/s for cam-0, cam-1 (602 MB/s at 90% of the line rate)"
    assert f.fix.startswith(f"connect {IF} at 10000 Mb/s or more") if status is Status.FAIL else f.fix == ""


def test_a_link_slower_than_planned_that_still_fits_warns(make_host: MakeHost, one_small_cam: Plan) -> None:
    """1000 Mb/s for a 10 G plan carrying 69 MB/s: warn (fits), with the same fix."""
    f = _item(one_small_cam, _host(make_host, speed="1000Mb/s"), "nic-speed")
    assert f.status is Status.WARN and "slower than planned" in f.seen
    assert f.fix.startswith(f"connect {IF} at 10000 Mb/s or more")


def test_a_down_link_fails_and_an_unknown_speed_skips(make_host: MakeHost, two_cams: Plan) -> None:
    """operstate DOWN: fail (bring it up / cable); ``Speed: Unknown!`` (virtio): skip."""
    f = _item(two_cams, _host(make_host, link=_ip_link(operstate="DOWN")), "nic-speed")
    assert (f.status, f.seen) == (Status.FAIL, f"link DOWN (ip -j -d link show dev {IF})")
    assert f.fix.startswith(f"sudo ip link set dev {IF} up; if it stays down")
    f = _item(two_cams, _host(make_host, speed="Unknown!"), "nic-speed")
    assert f.status is Status.SKIP and "Speed: Unknown!" in f.seen


def test_hosts_without_gige_cameras_have_no_nic_findings(make_host: MakeHost) -> None:
    """Three Azure Kinects on USB: nothing of this concerns the host."""
    plan = build_plan(load_rig(EXAMPLES / "kinect_star.toml"))
    assert [f for f in check_host(plan, "capture-1", make_host()) if f.item.startswith("nic-")] == []
