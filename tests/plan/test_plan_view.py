"""The terminal view of a stadium-size plan: a rule reported in many groups is one row with the count, a long
device list is cut to its first few and the count, and a long plan is drawn as aligned columns (fast to print)."""

from __future__ import annotations

import io

from rich.console import Console

from rigsync.cli.plan_view import _devices, plan_view
from rigsync.plan import build_plan
from rigsync.spec import loads_rig


def kinect_blocks(blocks: int) -> str:
    """``blocks`` hosts, each with a daisy chain of three Kinects whose depth captures are 160 us apart."""
    text = []
    for b in range(blocks):
        text.append(f'[[hosts]]\nname = "h{b}"\nnics = [{{ name = "eth0", timestamping = "hardware" }}]\n'
                    'usb_controllers = [{ name = "c0" }, { name = "c1" }, { name = "c2" }]\n')
        for i in range(3):
            text.append(f'[[devices]]\nid = "k{b}-{i}"\nmodel = "azure-kinect-dk"\nserial = "K{b}X{i}"\nhost = "h{b}"\n'
                        f'connection = "usb:c{i}"\nstreams = [{{ kind = "color", width = 1280, height = 720, fps = 30, '
                        'format = "mjpeg", exposure_us = 8000 }, { kind = "depth", width = 640, height = 576, '
                        "fps = 30 }]\n")
        members = ", ".join(f'{{ device = "k{b}-{i}", delay_us = {160 * i} }}' for i in range(3))
        text.append(f'[[sync]]\nname = "chain{b}"\nmethod = "hardware"\ntopology = "daisy-chain"\n'
                    f'source = {{ device = "k{b}-0" }}\nmembers = [{members}]\n')
    hosts = ", ".join(f'"h{b}"' for b in range(blocks))
    text.append(f'[[sync]]\nname = "clocks"\nmethod = "ptp"\nmembers = []\n[sync.ptp]\ngrandmaster = "h0"\n'
                f"hosts = [{hosts}]\n")
    return "".join(text)


def diagnostic_rows(text: str) -> dict[str, list[str]]:
    """Rule -> the text of its rows in the terminal's diagnostics table (first line of each row)."""
    plan = build_plan(loads_rig(text, "blocks.toml"))
    sink = io.StringIO()
    Console(file=sink, width=400, color_system=None).print(plan_view(plan))
    body = sink.getvalue().split("diagnostics:", 1)[1]
    rows: dict[str, list[str]] = {}
    for line in body.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 3 and cells[2]:
            rows.setdefault(cells[2], []).append(line)
    return rows


def test_a_rule_reported_in_many_groups_is_one_row_with_the_count() -> None:
    """Ten Kinect chains: the plan has a K4A-TIMESTAMPS info per chain; the terminal shows one row saying ten, with
    the first chain's message; with three chains each keeps its row."""
    rows = diagnostic_rows(kinect_blocks(10))
    assert len(rows["K4A-TIMESTAMPS"]) == 1 and len(rows["K4A-CALIBRATE"]) == 1
    assert "10 diagnostics (rigsync plan --json lists each), the first: in group chain0" in rows["K4A-TIMESTAMPS"][0]
    assert "... (30 devices)" in rows["K4A-TIMESTAMPS"][0]
    assert len(diagnostic_rows(kinect_blocks(3))["K4A-TIMESTAMPS"]) == 3


def test_a_long_device_list_shows_the_first_devices_and_the_count() -> None:
    """A diagnostic naming six devices lists them; one naming more lists five and the count."""
    six = tuple(f"k{i}" for i in range(6))
    assert _devices(six) == "k0, k1, k2, k3, k4, k5"
    assert _devices((*six, "k6")) == "k0, k1, k2, k3, k4, ... (7 devices)"
    rows = diagnostic_rows(kinect_blocks(4))  # USBFS-MEMORY for each chain's host: one row, twelve Kinects
    assert len(rows["USBFS-MEMORY"]) == 1 and "k0-0, k0-1, k0-2, k1-0," in rows["USBFS-MEMORY"][0]


def test_a_long_plan_is_drawn_as_aligned_columns_with_every_device() -> None:
    """Past LONG_OUTPUT_ROWS the groups, start order, budgets and host set-up are aligned text columns (no table
    borders): every device has its row with its role and trigger path, columns line up, a host's steps stay on
    their own lines under the steps column; a short plan keeps rich's bordered tables."""
    plan = build_plan(loads_rig(kinect_blocks(110), "blocks.toml"))
    sink = io.StringIO()
    Console(file=sink, width=400, color_system=None).print(plan_view(plan))
    lines = sink.getvalue().splitlines()
    body = "\n".join(lines[: lines.index(next(line for line in lines if line.startswith("diagnostics:")))])
    assert "│" not in body and "┃" not in body
    chain = lines[lines.index("sync group chain7: hardware, daisy-chain, source k7-0, trigger 30 Hz") + 1:][:5]
    assert chain[0].split() == ["device", "model", "host", "role", "(vendor)", "triggered", "through", "delay",
                                "us", "synced", "streams"]
    assert chain[3].startswith("k7-1    Azure Kinect DK  h7    subordinate (subordinate)  k7-0 sync-out -> sync-in")
    starts = {name: chain[0].index(name) for name in ("model", "host", "delay us")}
    assert all(row.index("Azure") == starts["model"] and row.index("h7") == starts["host"] for row in chain[2:])
    assert [row[starts["delay us"]:].split()[0] for row in chain[2:]] == ["0", "160", "320"]
    assert sum(line.startswith("k") and "Azure Kinect DK" in line for line in lines) == 330
    host = lines.index(next(line for line in lines if line.startswith("h5 ")))
    steps_at = lines[host].index("- ")
    assert lines[host + 1][:steps_at].strip() == "" and lines[host + 1][steps_at:].startswith("- ")
    small = io.StringIO()
    short = build_plan(loads_rig(kinect_blocks(3), "b.toml"))
    Console(file=small, width=400, color_system=None).print(plan_view(short))
    assert "│ k1-2" in small.getvalue()
