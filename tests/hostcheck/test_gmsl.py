"""GMSL2 on the Jetson of examples/zedx_quad.toml: a Jetson, the ZED Link driver loaded, the cameras' video nodes."""

from __future__ import annotations

from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.gmsl import CARD_FIX, DRIVER_FIX, RULE
from rigsync.hostcheck.probe import LocalProbe, RecordedProbe
from rigsync.hostcheck.run import check_host
from rigsync.plan import build_plan
from rigsync.spec import load_rig, loads_rig

from .conftest import EXAMPLES, FIXTURES, MakeHost

QUAD = build_plan(load_rig(EXAMPLES / "zedx_quad.toml"))  # host jetson-orin, 4 ZED X on quad0
ORIN = {"/proc/device-tree/model": "NVIDIA Jetson AGX Orin Developer Kit\x00",
        "/etc/nv_tegra_release": "# R36 (release), REVISION: 4.7\n"}
NODES = {"/sys/class/video4linux/video0/name": "vi-output, zedx 30-0018\n",
         "/sys/class/video4linux/video1/name": "vi-output, zedx 30-0010\n"}


def modules() -> dict[str, str]:
    """/sys/module as the recorded lsmod lines make it (refcnt: the "Used by" count)."""
    out = {"/sys/module/usbcore/refcnt": "1\n"}
    for line in (FIXTURES / "gmsl" / "lsmod_zedlink_quad.txt").read_text(encoding="utf-8").splitlines():
        name, _size, used, *_ = line.split()
        out[f"/sys/module/{name}/refcnt"] = f"{used}\n"
    return out


def gmsl(probe: RecordedProbe | LocalProbe, plan: object = QUAD, host: str = "jetson-orin") -> list[Finding]:
    return [f for f in check_host(plan, host, probe) if f.item.startswith("gmsl2")]  # type: ignore[arg-type]


def test_driver_loaded_and_cameras_present_pass(make_host: MakeHost) -> None:
    driver, cameras = gmsl(make_host(files={**ORIN, **modules(), **NODES}))
    assert (driver.item, driver.status) == ("gmsl2-driver", Status.PASS)
    assert driver.seen == ("NVIDIA Jetson AGX Orin Developer Kit (/proc/device-tree/model); loaded: sl_zedx, "
                           "sl_zedxone_uhd, sl_zedxpro")
    assert (cameras.item, cameras.status) == ("gmsl2-cameras", Status.PASS)
    assert cameras.seen == ("2 video node(s) of the driver: video0 (vi-output, zedx 30-0018), video1 (vi-output, "
                            "zedx 30-0010)")
    assert driver.wanted == "the ZED Link driver and 4 GMSL2 camera(s) on quad0"


def test_the_release_file_alone_says_jetson(make_host: MakeHost) -> None:
    driver, _ = gmsl(make_host(files={"/etc/nv_tegra_release": ORIN["/etc/nv_tegra_release"], **modules(), **NODES}))
    assert driver.seen.startswith("# R36 (release), REVISION: 4.7 (/etc/nv_tegra_release); loaded: sl_zedx")


def test_driver_not_loaded_fails_with_the_install_fix(make_host: MakeHost) -> None:
    [driver] = gmsl(make_host(files={**ORIN, "/sys/module/usbcore/refcnt": "1\n"}))
    assert (driver.item, driver.status) == ("gmsl2-driver", Status.FAIL)
    assert driver.seen.endswith("no sl_zedx* module in /sys/module: the ZED Link driver is not loaded")
    assert driver.fix == DRIVER_FIX
    assert "stereolabs.com/developers/drivers" in DRIVER_FIX and "lsmod | grep sl_zedx" in DRIVER_FIX


def test_driver_loaded_but_no_camera_node_fails_with_the_card_fix(make_host: MakeHost) -> None:
    other = {"/sys/class/video4linux/video0/name": "vi-output, imx219 9-0010\n"}
    driver, cameras = gmsl(make_host(files={**ORIN, **modules(), **other}))
    assert driver.status is Status.PASS
    assert (cameras.item, cameras.status) == ("gmsl2-cameras", Status.FAIL)
    assert cameras.seen == ("no video node of the ZED Link driver in /sys/class/video4linux: the driver is loaded "
                            "but found no card or camera")
    assert cameras.fix == CARD_FIX


def test_not_a_jetson_fails_saying_where_to_run_it(make_host: MakeHost) -> None:
    [f] = gmsl(make_host(files=modules()))
    assert (f.item, f.status) == ("gmsl2", Status.FAIL)
    assert f.seen == "this machine is not a Jetson: /proc/device-tree/model absent, no /etc/nv_tegra_release"
    assert f.fix == "run `rigsync check --host jetson-orin` on the Jetson that carries the ZED Link card"


def test_a_host_declared_x86_is_skipped_naming_the_plan_rule(make_host: MakeHost) -> None:
    text = (EXAMPLES / "zedx_quad.toml").read_text(encoding="utf-8").replace('platform = "jetson"',
                                                                             'platform = "x86_64"')
    plan = build_plan(loads_rig(text))
    [f] = gmsl(make_host(files={**ORIN, **modules(), **NODES}), plan)
    assert (f.item, f.status) == ("gmsl2", Status.SKIP)
    assert f.seen == f"host jetson-orin is declared x86_64: the plan rule {RULE} already refuses GMSL2 cameras there"
    assert RULE == "ZED-GMSL-HOST"
    assert any(d.rule == RULE for d in plan.diagnostics)


def test_live_this_machine_is_not_a_jetson() -> None:
    [f] = gmsl(LocalProbe())
    assert (f.item, f.status) == ("gmsl2", Status.FAIL) and f.seen.startswith("this machine is not a Jetson")
