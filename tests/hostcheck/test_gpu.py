"""GPU memory against the ZED depth the plan computes (seeds/000: up to 750 MB a camera, 6 GB recommended)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from rigsync.hostcheck.finding import Finding, Status
from rigsync.hostcheck.gpu import DRIVER_FIX, MEMORY_FIX, QUERY, Gpu, parse
from rigsync.hostcheck.probe import LocalProbe, RecordedProbe
from rigsync.hostcheck.run import check_host
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.spec import load_rig, loads_rig

from .conftest import EXAMPLES, FIXTURES, MakeHost

ZEDS = build_plan(load_rig(EXAMPLES / "zed2i_usb_three.toml"))  # 3 ZED 2i with depth: 2250 MB; declares 8192 MB
QUAD = build_plan(load_rig(EXAMPLES / "zedx_quad.toml"))  # Jetson, 4 ZED X with depth: 3000 MB
LINE = " ".join(QUERY)


def nine_zeds() -> Plan:
    controllers = ", ".join(f'{{ name = "c{i}" }}' for i in range(9))
    devices = "".join(f"""
[[devices]]
id = "zed{i}"
model = "zed-2i"
serial = "3100000{i}"
host = "ws"
connection = "usb:c{i}"
streams = [{{ kind = "color", width = 1280, height = 720, fps = 30 }},
           {{ kind = "depth", width = 1280, height = 720, fps = 30 }}]
""" for i in range(9))
    return build_plan(loads_rig(f'[rig]\nname = "nine"\n[[hosts]]\nname = "ws"\nusb_controllers = [{controllers}]\n'
                                f"{devices}"))


def fixture(name: str) -> str:
    return (FIXTURES / "gpu" / name).read_text(encoding="utf-8")


def gpu(plan: Plan, host: str, probe: RecordedProbe | LocalProbe) -> Finding:
    [f] = [f for f in check_host(plan, host, probe) if f.item == "gpu-memory"]
    return f


def test_a_p100_holds_three_zeds_depth(make_host: MakeHost) -> None:
    f = gpu(ZEDS, "workstation", make_host(commands={LINE: fixture("p100.csv")}))
    assert f.status is Status.PASS
    assert f.seen == "Tesla P100-PCIE-16GB: 16384 MB free of 16384 MB (nvidia-smi)"
    assert f.wanted == (">= 2250 MB free GPU memory for the depth of 3 ZED camera(s) (750 MB each, NEURAL LIGHT, "
                        "seeds/000)")


def test_a_6_gb_titan_z_warns_below_the_recommendation_and_the_declared_memory(make_host: MakeHost) -> None:
    f = gpu(ZEDS, "workstation", make_host(commands={LINE: fixture("titan_z_two.csv")}))
    assert f.status is Status.WARN
    assert f.seen == ("GeForce GTX TITAN Z: 5363 MB free of 6134 MB; GeForce GTX TITAN Z: 6128 MB free of 6143 MB "
                      "(nvidia-smi)")
    assert f.fix == ("use a GPU with 6 GB or more, as seeds/000 recommends for several cameras; set gpu_memory_mb = "
                     "6143 for host workstation in the rig file (it declares 8192)")


def test_nine_zeds_do_not_fit_a_titan_z(make_host: MakeHost) -> None:
    f = gpu(nine_zeds(), "ws", make_host(commands={LINE: fixture("titan_z_two.csv")}))
    assert f.status is Status.FAIL
    assert f.wanted.startswith(">= 6750 MB free GPU memory for the depth of 9 ZED camera(s)")
    assert f.fix == MEMORY_FIX


def test_a_failing_driver_fails_with_its_message_and_the_install_fix(make_host: MakeHost) -> None:
    f = gpu(ZEDS, "workstation", make_host(commands={LINE: (9, fixture("no_driver.txt"))}))
    assert f.status is Status.FAIL
    assert f.seen == ("nvidia-smi failed: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA "
                      "driver. Make sure that the latest NVIDIA driver is installed and running.")
    assert f.fix == DRIVER_FIX


def test_no_nvidia_smi_fails_with_the_install_fix(make_host: MakeHost) -> None:
    f = gpu(ZEDS, "workstation", make_host())
    assert (f.status, f.fix) == (Status.FAIL, DRIVER_FIX)
    assert f.seen == "nvidia-smi is not installed: no NVIDIA driver, so no CUDA GPU for the ZED SDK's depth"


def test_parse_is_robust_to_commas_in_names_and_unreadable_figures() -> None:
    assert parse("Vendor, Model X, 50, 100\n\n") == [Gpu("Vendor, Model X", 50.0, 100.0)]
    assert parse("NVIDIA GeForce RTX 3050, [N/A], [N/A]\n") == []
    assert parse(fixture("no_driver.txt")) == []


def _meminfo(available_kb: int | None = None) -> str:
    text = Path("/proc/meminfo").read_text(encoding="utf-8")  # this machine's, real
    if available_kb is not None:
        text = re.sub(r"^MemAvailable:\s+\d+ kB$", f"MemAvailable:   {available_kb} kB", text, flags=re.M)
    return text


@pytest.mark.parametrize(("available_kb", "status"), [(3000 * 1024, Status.PASS), (2999 * 1024, Status.FAIL)])
def test_a_jetson_is_held_to_its_shared_memory(make_host: MakeHost, available_kb: int, status: Status) -> None:
    f = gpu(QUAD, "jetson-orin", make_host(files={"/proc/meminfo": _meminfo(available_kb)}))
    assert f.status is status
    assert f.seen == (f"Jetson, memory shared with the CPU: {available_kb / 1024:.0f} MB available (/proc/meminfo "
                      "MemAvailable)")


def test_no_zed_depth_no_gpu_finding(make_host: MakeHost) -> None:
    plan = build_plan(load_rig(EXAMPLES / "kinect_star.toml"))
    assert [f for f in check_host(plan, "capture-1", make_host()) if f.item == "gpu-memory"] == []


@pytest.mark.skipif(shutil.which("nvidia-smi") is not None, reason="this machine has nvidia-smi")
def test_live_this_machine_has_no_nvidia_smi() -> None:
    f = gpu(ZEDS, "workstation", LocalProbe())
    assert f.status is Status.FAIL and f.seen.startswith("nvidia-smi is not installed")
