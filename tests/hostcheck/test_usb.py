"""USB topology against the rig file: each camera found by serial, its link speed, the controllers it shares.

Buses are sysfs trees of real machines (tests/hostcheck/fixtures/usb/README.md); rigs are the examples' or small
ones written here."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.probe import LocalProbe
from rigsync.hostcheck.run import check_host
from rigsync.hostcheck.usbsysfs import controller_of, scan
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.spec import load_rig

from .conftest import EXAMPLES, MakeHost, real_example, real_plan
from .usbtree import sysfs, usb_host

STAR = real_example("kinect_star.toml", "kinect")  # kinect-master mb0, kinect-sub1 pcie0, kinect-sub2 pcie1
ZEDS = real_example("zed2i_usb_three.toml", "zed")
GENLOCK = real_example("realsense_genlock.toml", "realsense")  # 4 x D435: rs-master 49 MB/s, the others 98


def one_camera(model: str, serial: str, streams: str, platform: str = "x86_64") -> Plan:
    driver = "zed" if model.startswith("zed") else "realsense"
    return real_plan(f"""
[rig]
name = "one"
[[hosts]]
name = "h"
platform = "{platform}"
gpu_memory_mb = 8192
[[devices]]
id = "cam"
model = "{model}"
serial = "{serial}"
host = "h"
connection = "usb:mb0"
streams = [{streams}]
""", driver)


ZED_STREAMS = ('{ kind = "color", width = 1280, height = 720, fps = 30 }, '
               '{ kind = "depth", width = 1280, height = 720, fps = 30 }')
D435_STREAMS = ('{ kind = "depth", width = 848, height = 480, fps = 90 }, '
                '{ kind = "color", width = 848, height = 480, fps = 30, format = "rgb8" }')


def usb(plan: Plan, host: str, probe: object) -> dict[tuple[str, str], Finding]:
    out = {}
    for f in check_host(plan, host, probe):  # type: ignore[arg-type]
        if f.item.startswith("usb-") and f.item != "usbfs-memory":
            out[(f.item, f.subject)] = f
    return out


def statuses(found: dict[tuple[str, str], Finding]) -> dict[tuple[str, str], Status]:
    return {k: f.status for k, f in found.items()}


def test_three_kinects_each_on_its_own_controller_pass(make_host: MakeHost) -> None:
    got = usb(STAR, "capture-1", usb_host(make_host, "kinect_star_three_controllers"))
    assert statuses(got) == {
        **{(item, d): Status.PASS for d in ("kinect-master", "kinect-sub1", "kinect-sub2")
           for item in ("usb-camera", "usb-link")},
        ("usb-controller", "0000:00:14.0"): Status.PASS, ("usb-controller", "0000:03:00.0"): Status.PASS,
        ("usb-controller", "0000:04:00.0"): Status.PASS}
    sub1 = got[("usb-camera", "kinect-sub1")]
    assert sub1.seen == "045e:097c Azure Kinect Depth Camera at 4-1.2, controller 0000:03:00.0"
    assert got[("usb-link", "kinect-sub1")].seen == "USB 3 link: 4-1.2 5000 Mb/s"
    assert got[("usb-controller", "0000:03:00.0")].seen == ("kinect-sub1 (usb:pcie0) on controller 0000:03:00.0: "
                                                            "63 of 620 MB/s (10%)")


def test_a_kinect_on_a_usb2_link_fails_with_the_usb3_fix(make_host: MakeHost) -> None:
    got = usb(STAR, "capture-1", usb_host(make_host, "kinect_star_three_controllers", {"4-1.2": {"speed": "480"}}))
    link = got[("usb-link", "kinect-sub1")]
    assert link.status is Status.FAIL
    assert link.seen == "USB 2 link: 4-1.2 480 Mb/s"
    assert link.wanted == "USB 3 (>= 5000 Mb/s): the vendor requires USB 3"
    assert link.fix == ("plug 000310000001 (kinect-sub1) into a USB 3 port (blue) / use a USB 3 cable, directly or "
                        "through a USB 3 hub; then `lsusb -t` shows it at 5000M or more")
    assert got[("usb-link", "kinect-master")].status is Status.PASS


def test_an_unplugged_kinect_fails_not_found(make_host: MakeHost) -> None:
    got = usb(STAR, "capture-1", usb_host(make_host, "kinect_star_three_controllers", {"6-1": {"gone": ""}}))
    gone = got[("usb-camera", "kinect-sub2")]
    assert gone.status is Status.FAIL
    assert gone.seen == ("not found: no USB device with serial 000310000002 in /sys/bus/usb/devices (12 USB devices; "
                         "2 other azure-kinect-dk device(s) on the bus)")
    assert gone.fix == ("plug in kinect-sub2 (serial 000310000002), check its cable and power, and that "
                        "`lsusb -d 045e:` lists it; if it was replaced, put the new serial number in the rig file")
    assert ("usb-link", "kinect-sub2") not in got
    assert got[("usb-camera", "kinect-sub1")].status is Status.PASS


def test_kinects_the_rig_spreads_but_that_share_a_controller_warn_with_the_budget(make_host: MakeHost) -> None:
    # kinect-sub1 (usb:pcie0) plugged into the motherboard controller, next to kinect-master (usb:mb0)
    probe = usb_host(make_host, "kinect_star_three_controllers", {"4-1": {"to": "2-2"}, "3-1": {"to": "1-2"}})
    got = usb(STAR, "capture-1", probe)
    shared = got[("usb-controller", "0000:00:14.0")]
    assert shared.status is Status.WARN
    assert shared.seen == ("kinect-master (usb:mb0), kinect-sub1 (usb:pcie0) on controller 0000:00:14.0: 126 of "
                           "620 MB/s (20%)")
    assert shared.wanted == "2 controllers (mb0, pcie0) as the rig file plans, 620 MB/s each (seeds/000)"
    assert shared.fix == ("move kinect-sub1 to ports on another USB controller (a PCIe USB 3.0 card): `lsusb -t` "
                          "shows which bus each port is on; 0000:00:14.0 carries them all")
    assert ("usb-controller", "0000:03:00.0") not in got


def test_three_zeds_on_one_controller_fail_over_its_budget(make_host: MakeHost) -> None:
    tree = {"controllers": {"1": "/sys/devices/pci0000:00/0000:00:14.0/usb1",
                            "2": "/sys/devices/pci0000:00/0000:00:14.0/usb2"},
            "devices": [dev for i, serial in enumerate(("31234561", "31234562", "31234563"), start=1) for dev in (
                {"name": f"2-{i}", "idVendor": "2b03", "idProduct": "f880", "speed": "5000"},
                {"name": f"1-{i}", "idVendor": "2b03", "idProduct": "f881", "speed": "12", "serial": serial})]}
    files, links = sysfs(tree)
    got = usb(ZEDS, "workstation", make_host(files=files, links=links))
    shared = got[("usb-controller", "0000:00:14.0")]
    assert shared.status is Status.FAIL
    assert shared.seen == ("zed-left (usb:mb0), zed-centre (usb:pcie0), zed-right (usb:pcie1) on controller "
                           "0000:00:14.0: 746 of 620 MB/s (120%)")
    assert shared.fix.startswith("move zed-centre, zed-right to ports on another USB controller")
    for d in ("zed-left", "zed-centre", "zed-right"):
        assert got[("usb-camera", d)].status is Status.PASS
        link = got[("usb-link", d)]
        assert link.status is Status.PASS
        assert link.seen == ("USB 3 link: 2-1 5000 Mb/s, 2-2 5000 Mb/s, 2-3 5000 Mb/s (the zed-2i video devices on "
                             "this controller: their serial is not on the bus)")


def test_zed2_on_a_jetson_found_by_its_hid_serial_and_linked_to_its_video_device(make_host: MakeHost) -> None:
    plan = one_camera("zed-2", "28123456", ZED_STREAMS)
    got = usb(plan, "h", usb_host(make_host, "zed2_xavier_nx", {"1-2.1.2": {"serial": "28123456"}}))
    assert got[("usb-camera", "cam")].seen == "2b03:f781 zed-2 at 1-2.1.2, controller 3610000.xhci"
    assert got[("usb-link", "cam")].seen == "USB 3 link: 2-3.1 5000 Mb/s"
    assert got[("usb-link", "cam")].status is Status.PASS


def test_a_zed_mini_on_usb2_shows_only_its_hid_device_and_fails(make_host: MakeHost) -> None:
    plan = one_camera("zed-mini", "10026217", ZED_STREAMS)
    got = usb(plan, "h", usb_host(make_host, "zedm_tx2_usb2"))
    assert got[("usb-camera", "cam")].status is Status.PASS
    link = got[("usb-link", "cam")]
    assert link.status is Status.FAIL
    assert link.seen == ("only its sensor device 2b03:f681 at 1-2 (12.0 Mb/s) is on the bus: its video device did "
                         "not enumerate, as when a ZED is on a USB 2 port")
    assert link.fix.startswith("plug 10026217 (cam) into a USB 3 port (blue) / use a USB 3 cable")


@pytest.mark.parametrize(("speed", "streams", "status"), [
    ("5000", D435_STREAMS, Status.PASS),
    ("480", D435_STREAMS, Status.FAIL),  # 98 MB/s does not fit USB 2
    ("480", '{ kind = "depth", width = 848, height = 480, fps = 30 }', Status.PASS),  # 24 MB/s does
])
def test_a_d435_matched_by_model_needs_usb3_only_for_what_usb2_cannot_carry(
        make_host: MakeHost, speed: str, streams: str, status: Status) -> None:
    plan = one_camera("realsense-d435", "827312070001", streams)
    got = usb(plan, "h", usb_host(make_host, "d435_usb3_hub", {"4-5.4.2": {"speed": speed}}))
    camera = got[("usb-camera", "cam")]
    assert camera.status is Status.PASS
    assert camera.seen.endswith("(matched by model: a realsense-d435's serial number is not on the bus)")
    link = got[("usb-link", "cam")]
    assert link.status is status
    assert link.wanted.startswith("USB 3 (>= 5000 Mb/s): 98 MB/s is more than USB 2's 60 MB/s" if status is
                                  Status.FAIL else ("USB 3", "USB 2 or 3: 24 MB/s fits USB 2"))


def test_d435s_matched_by_model_give_the_usb3_links_to_the_cameras_that_need_them(make_host: MakeHost) -> None:
    tree = {"controllers": {"3": "/sys/devices/pci0000:00/0000:00:14.0/usb3",
                            "4": "/sys/devices/pci0000:00/0000:00:14.0/usb4"},
            "devices": [{"name": "3-1", "idVendor": "8086", "idProduct": "0b07", "speed": "480"}]
            + [{"name": f"4-{i}", "idVendor": "8086", "idProduct": "0b07", "speed": "5000"} for i in (2, 3, 4)]}
    files, links = sysfs(tree)
    got = usb(GENLOCK, "capture-1", make_host(files=files, links=links))
    assert {d: got[("usb-link", d)].status for d in ("rs-master", "rs-genlock-1", "rs-genlock-2", "rs-genlock-3")} == {
        "rs-master": Status.PASS, "rs-genlock-1": Status.PASS, "rs-genlock-2": Status.PASS,
        "rs-genlock-3": Status.PASS}
    assert got[("usb-link", "rs-master")].seen == "USB 2 link: 3-1 480 Mb/s"


def test_controller_of_a_resolved_device_path() -> None:
    assert controller_of("/sys/devices/pci0000:00/0000:00:14.0/usb4/4-5/4-5.4/4-5.4.2") == "0000:00:14.0"
    assert controller_of("/sys/devices/platform/3610000.xhci/usb2/2-3/2-3.1") == "3610000.xhci"
    assert controller_of("/sys/devices/virtual/foo") == ""


def test_live_this_machine_a_camera_not_present_fails_not_found() -> None:
    """This machine's real /sys: whatever USB it has, no Azure Kinect with the example's serial is on it."""
    probe = LocalProbe()
    bus = scan(probe)
    if bus is not None:
        assert all(d.serial != "000310000001" for d in bus)
    got = usb(STAR, "capture-1", probe)
    sub1 = got[("usb-camera", "kinect-sub1")]
    assert sub1.status is Status.FAIL and sub1.seen.startswith("not found: ")
    assert ("no USB bus" in sub1.seen) is (not Path("/sys/bus/usb/devices").is_dir())


def test_simulated_cameras_are_skipped_saying_so(make_host: MakeHost) -> None:
    """The example as it is (its cameras simulated): one skip per camera, the bus not read (no controller item)."""
    got = usb(build_plan(load_rig(EXAMPLES / "kinect_star.toml")), "capture-1", make_host())
    assert statuses(got) == {("usb-camera", d): Status.SKIP for d in ("kinect-master", "kinect-sub1", "kinect-sub2")}
    assert got[("usb-camera", "kinect-sub1")].seen == 'simulated (driver = "sim"): no camera on the bus to look for'
