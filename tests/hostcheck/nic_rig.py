"""A small rig of GigE Vision cameras on one interface of one host, written as a rig file (the schema of
examples/gige_ptp_four.toml), for the NIC items' tests."""

from __future__ import annotations

from pathlib import Path

from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.spec import load_rig

HOST = "vision-1"


def gige_rig(path: Path, nic: str, *, speed_gbps: float = 10, cameras: int = 2, width: int = 2448,
             height: int = 2048, fps: float = 60, pixel_format: str = "bayer_rggb8",
             packet_sizes: tuple[int | None, ...] = ()) -> Plan:
    """``cameras`` GigE Vision cameras streaming ``width`` x ``height`` at ``fps`` to ``nic`` of host vision-1;
    camera i with ``packet_size = packet_sizes[i]`` where given and not None."""
    sizes = [*packet_sizes, *[None] * cameras][:cameras]
    devices = "".join(f"""
[[devices]]
id = "cam-{i}"
model = "gige-ptp-area-scan"
serial = "EVT-HB-{1000 + i}"
host = "{HOST}"
connection = "eth:{nic}"
streams = [{{ kind = "color", width = {width}, height = {height}, fps = {fps}, format = "{pixel_format}" }}]
{"" if sizes[i] is None else f"packet_size = {sizes[i]}"}
""" for i in range(cameras))
    path.write_text(f"""
[rig]
name = "nic-check"

[[hosts]]
name = "{HOST}"
nics = [{{ name = "{nic}", kind = "ethernet", timestamping = "hardware", speed_gbps = {speed_gbps} }}]
{devices}""", encoding="utf-8")
    return build_plan(load_rig(path))
