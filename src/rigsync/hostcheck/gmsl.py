"""GMSL2: on the Jetson that carries the rig's ZED X cameras, the ZED Link driver loaded and the capture card's
cameras present as video nodes (seeds/000: "GMSL2 cameras require the ZED Link driver to be installed on the
Jetson before they can be opened by the ZED SDK").

The driver package (stereolabs.com/developers/drivers) loads kernel modules named ``sl_zedx`` (ZED X, X Mini),
``sl_zedxpro``, ``sl_zedxone_uhd`` (ZED X One 4K) over the deserializer's (``sl_max96712``, ``sl_max9295``), as
a ZED Diagnostic driver list shows them (tests/hostcheck/fixtures/gmsl/README.md). Once the card and its cameras
are probed, the Jetson's capture driver names a video node after the sensor driver and its I2C address
(``vi-output, zedx 30-0018``): no such node means the card or the cameras were not found.
"""

from __future__ import annotations

from rigsync.core.sync import LinkKind
from rigsync.hostcheck.context import HostContext
from rigsync.hostcheck.finding import Finding, Status
from rigsync.spec.model import Platform

ANCHOR = "#gmsl2"
MODEL_PATH = "/proc/device-tree/model"
TEGRA_RELEASE = "/etc/nv_tegra_release"
MODULES = "/sys/module"
DRIVER_PREFIX = "sl_zedx"
VIDEO = "/sys/class/video4linux"
RULE = "ZED-GMSL-HOST"
"""The plan rule that refuses a GMSL2 camera on a host that is not a Jetson (rigsync.plan.rules.stereolabs)."""
DRIVER_FIX = ("install the ZED Link driver package for this L4T release (`cat /etc/nv_tegra_release`) from "
              "https://www.stereolabs.com/developers/drivers (`sudo dpkg -i stereolabs-zedlink-<card>_<version>_"
              "arm64.deb`), reboot, then `lsmod | grep sl_zedx`")
CARD_FIX = ("check the capture card's power supply and the GMSL2 cables (the 'Host' end on the card), boot the "
            "Stereolabs entry of /boot/extlinux/extlinux.conf (its DEFAULT; it loads the card's device-tree overlay), "
            "reboot, `sudo systemctl restart zed_x_daemon`, then `ZED_Explorer -a` lists the cameras")


def is_jetson(ctx: HostContext) -> tuple[bool, str]:
    """(this machine is a Jetson, what says so)."""
    model = (ctx.probe.read(MODEL_PATH) or "").replace("\x00", "").strip()
    if "NVIDIA Jetson" in model:
        return True, f"{model} ({MODEL_PATH})"
    release = ctx.probe.read(TEGRA_RELEASE)
    if release is not None:
        return True, f"{release.splitlines()[0].strip() if release.strip() else 'L4T'} ({TEGRA_RELEASE})"
    return False, f"{MODEL_PATH} {'says ' + repr(model) if model else 'absent'}, no {TEGRA_RELEASE}"


def check(ctx: HostContext) -> list[Finding]:
    gmsl = [d for d in ctx.devices if d.connection.kind is LinkKind.GMSL]
    if not gmsl:
        return []
    cards = ", ".join(sorted({d.connection.bus for d in gmsl}))
    wanted = f"the ZED Link driver and {len(gmsl)} GMSL2 camera(s) on {cards}"
    if ctx.spec.platform is not Platform.JETSON:
        return [ctx.finding("gmsl2", Status.SKIP, f"host {ctx.host} is declared {ctx.spec.platform.value}: the plan "
                            f"rule {RULE} already refuses GMSL2 cameras there", wanted, anchor=ANCHOR)]
    jetson, why = is_jetson(ctx)
    if not jetson:
        return [ctx.finding("gmsl2", Status.FAIL, f"this machine is not a Jetson: {why}", wanted,
                            f"run `rigsync check --host {ctx.host}` on the Jetson that carries the ZED Link card",
                            anchor=ANCHOR)]
    modules = sorted(m for m in ctx.probe.listdir(MODULES) or [] if m.startswith(DRIVER_PREFIX))
    if not modules:
        return [ctx.finding("gmsl2-driver", Status.FAIL, f"{why}; no {DRIVER_PREFIX}* module in {MODULES}: the ZED "
                            "Link driver is not loaded", wanted, DRIVER_FIX, anchor=ANCHOR)]
    out = [ctx.finding("gmsl2-driver", Status.PASS, f"{why}; loaded: {', '.join(modules)}", wanted, anchor=ANCHOR)]
    nodes = []
    for node in ctx.probe.listdir(VIDEO) or []:
        name = (ctx.probe.read(f"{VIDEO}/{node}/name") or "").strip()
        if "zedx" in name:
            nodes.append(f"{node} ({name})")
    if nodes:
        out.append(ctx.finding("gmsl2-cameras", Status.PASS, f"{len(nodes)} video node(s) of the driver: "
                               f"{', '.join(nodes)}", wanted, anchor=ANCHOR))
    else:
        out.append(ctx.finding("gmsl2-cameras", Status.FAIL, f"no video node of the ZED Link driver in {VIDEO}: "
                               "the driver is loaded but found no card or camera", wanted, CARD_FIX, anchor=ANCHOR))
    return out
