"""The wiring diagram: DOT that Graphviz accepts, every device, link and host drawn, problems shown in red."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rigsync.core.errors import RigsyncError
from rigsync.plan import Plan, build_plan
from rigsync.plan.diagram import DATA_COLOUR, ERROR_COLOUR, WARNING_COLOUR, render, to_dot
from rigsync.spec import load_rig, loads_rig

EXAMPLES_DIR = Path(__file__).parents[2] / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.toml"))

needs_dot = pytest.mark.skipif(shutil.which("dot") is None,
                               reason="Graphviz 'dot' is not installed (apt-get install graphviz)")

PROBLEMS = """
[rig]
name = "problems"

[[hosts]]
name = "h1"
usb_controllers = [{ name = "mb0" }]

[[triggers]]
name = "pps"          # a 5 V PPS generator into RealSense 1.8 V sync inputs
rate_hz = 30
level_v = 5.0
pulse_width_us = 200

[[devices]]
id = "rs-a"
model = "realsense-d435"
serial = "R1"
host = "h1"
connection = "usb:mb0"
streams = [{ kind = "depth", width = 848, height = 480, fps = 90, exposure_us = 6000 }]

[[devices]]
id = "rs-b"
model = "realsense-d435"
serial = "R2"
host = "h1"
connection = "usb:mb0"
streams = [{ kind = "depth", width = 848, height = 480, fps = 90, exposure_us = 6000 }]

[[devices]]
id = "k0"
model = "azure-kinect-dk"
serial = "K0"
host = "h1"
connection = "usb:mb0"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, format = "bgra8", exposure_us = 8000 }]

[[devices]]
id = "k1"
model = "azure-kinect-dk"
serial = "K1"
host = "h1"
connection = "usb:mb0"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30, format = "bgra8", exposure_us = 8000 }]

[[devices]]
id = "old"            # out of production: a warning only
model = "zed"
serial = "Z0"
host = "h1"
connection = "usb:mb1"
streams = [{ kind = "color", width = 1280, height = 720, fps = 30 }]

[[sync]]
name = "gl"
method = "genlock"
topology = "star"
source = { trigger = "pps" }
members = [{ device = "rs-a" }, { device = "rs-b" }]

[[sync]]
name = "chain"        # k0's sync output is disabled: k1 never sees a trigger
method = "hardware"
topology = "daisy-chain"
source = { device = "k0" }
members = [{ device = "k0", trigger_out = false }, { device = "k1", delay_us = 160 }]
"""

_STATEMENT = re.compile(r'^\s*"([^"]+)"(?: -> "([^"]+)")? \[(.*)\];$')
_ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|<.*?>(?=, \w+=|$))')


def _statements(dot: str) -> tuple[dict[str, dict[str, str]], list[tuple[str, str, dict[str, str]]]]:
    """Nodes (id -> attributes) and edges (tail, head, attributes) of ``to_dot`` output, with ``dir=back`` edges
    turned the way the signal flows."""
    nodes: dict[str, dict[str, str]] = {}
    edges: list[tuple[str, str, dict[str, str]]] = []
    for line in dot.splitlines():
        m = _STATEMENT.match(line)
        if m is None:
            continue
        attrs = {k: v.strip('"') for k, v in _ATTR.findall(m.group(3))}
        if m.group(2) is None:
            nodes[m.group(1)] = attrs
        elif attrs.get("dir") == "back":
            edges.append((m.group(2), m.group(1), attrs))
        else:
            edges.append((m.group(1), m.group(2), attrs))
    return nodes, edges


def _edge_into(edges: list[tuple[str, str, dict[str, str]]], device: str, source: str) -> dict[str, str]:
    """The trigger edge into a device from ``source`` (directly or through a splitter)."""
    for tail, head, attrs in edges:
        if head == f"dev:{device}" and (tail == source or tail.startswith("splitter:")):
            return attrs
    raise AssertionError(f"no trigger edge into {device}")


def _problems() -> Plan:
    return build_plan(loads_rig(PROBLEMS, "problems.toml"))


@needs_dot
@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_dot_parses(path: Path, tmp_path: Path) -> None:
    """Graphviz draws the DOT of every example rig as SVG without complaint."""
    dot = shutil.which("dot")
    assert dot is not None
    result = subprocess.run([dot, "-Tsvg"], input=to_dot(build_plan(load_rig(path))), capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "<svg" in result.stdout
    assert "Warning" not in result.stderr, result.stderr


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_dot_draws_everything(path: Path) -> None:
    """Every host is a cluster, every device a node with a data edge, every trigger link an edge from its source."""
    plan = build_plan(load_rig(path))
    dot = to_dot(plan)
    nodes, edges = _statements(dot)
    for i, host in enumerate(plan.rig.hosts):
        assert f'subgraph "cluster_host_{i}"' in dot
        assert f"<B>{host.name}</B>" in dot
    for d in plan.devices:
        assert f"dev:{d.device_id}" in nodes
        assert f"<B>{d.device_id}</B>" in nodes[f"dev:{d.device_id}"]["label"]
        assert any(t == f"dev:{d.device_id}" and a.get("color") == DATA_COLOUR for t, _, a in edges)
        link = d.trigger
        if link is None:
            continue
        source = link.source if link.source.startswith("trigger:") else f"dev:{link.source}"
        if link.source.startswith("card:"):
            source = f"card:{plan.rig.device(d.device_id).host}:{link.source.removeprefix('card:')}"
        assert source in nodes or any(source in (t, h) for t, h, _ in edges)
        tails = {t for t, h, _ in edges if h == f"dev:{d.device_id}" and t != f"dev:{d.device_id}"}
        via = {t for t in tails if t.startswith("splitter:")}
        assert source in tails or any((source, hub) in {(t, h) for t, h, _ in edges} for hub in via), d.device_id


def test_star_groups_branch_through_a_splitter() -> None:
    """In the studio the Kinect master and the Genlock generator each feed a visible 1 -> N splitter node."""
    nodes, edges = _statements(to_dot(build_plan(load_rig(EXAMPLES_DIR / "studio.toml"))))
    hubs = [n for n in nodes if n.startswith("splitter:")]
    assert sorted(hubs) == ["splitter:kinects:kinect-master", "splitter:realsense:trigger:genlock-gen"]
    assert ("dev:kinect-master", "splitter:kinects:kinect-master") in {(t, h) for t, h, _ in edges}
    label = _edge_into(edges, "kinect-sub1", "dev:kinect-master")["label"]
    assert "sync in, 3.5 mm, 2 m" in label and "5 V -> 5 V" in label


def test_ptp_and_capture_card_edges() -> None:
    """PTP is a dotted edge from the grandmaster (host NIC or external node); a ZED Link card triggers its cameras."""
    _, studio = _statements(to_dot(build_plan(load_rig(EXAMPLES_DIR / "studio.toml"))))
    ptp = {(t, h) for t, h, a in studio if a.get("style") == "dotted" and a.get("label") == "PTP"}
    assert ptp == {("nic:studio-1:eth0", "dev:gige-top"), ("nic:studio-1:eth0", "dev:gige-side")}
    nodes, four = _statements(to_dot(build_plan(load_rig(EXAMPLES_DIR / "gige_ptp_four.toml"))))
    assert "ptp:external" in nodes
    assert {h for t, h, a in four if t == "ptp:external" and a.get("style") == "dotted"} == {
        "dev:cam-0", "dev:cam-1", "dev:cam-2", "dev:cam-3", "nic:vision-1:enp1s0f0"}
    _, quad = _statements(to_dot(build_plan(load_rig(EXAMPLES_DIR / "zedx_quad.toml"))))
    assert "GMSL2" in _edge_into(quad, "zedx-0", "card:jetson-orin:quad0")["label"]


def test_level_shifter_link_is_red() -> None:
    """A 5 V generator into a RealSense 1.8 V input draws a red edge labelled LEVEL SHIFTER NEEDED."""
    _, edges = _statements(to_dot(_problems()))
    for device in ("rs-a", "rs-b"):
        attrs = _edge_into(edges, device, "trigger:pps")
        assert attrs["color"] == ERROR_COLOUR
        assert "LEVEL SHIFTER NEEDED" in attrs["label"] and "5 V -> 1.8 V" in attrs["label"]


def test_undetected_link_is_dashed_red() -> None:
    """A link whose input sees no trigger is dashed red and says so."""
    _, edges = _statements(to_dot(_problems()))
    attrs = _edge_into(edges, "k1", "dev:k0")
    assert attrs["style"] == "dashed" and attrs["color"] == ERROR_COLOUR
    assert "no trigger reaches the input" in attrs["label"]


def test_devices_outlined_by_diagnostics() -> None:
    """A device named by an error is outlined red, one named only by a warning orange, the rest neither."""
    plan = _problems()
    assert {"rs-a", "rs-b"} <= {d for e in plan.errors for d in e.devices}
    nodes, _ = _statements(to_dot(plan))
    assert nodes["dev:rs-a"]["color"] == ERROR_COLOUR
    assert nodes["dev:k1"]["color"] == ERROR_COLOUR  # SYNC-OUT-DISABLED
    assert nodes["dev:old"]["color"] == WARNING_COLOUR  # ZED-OUT-OF-PRODUCTION
    clean, _ = _statements(to_dot(build_plan(load_rig(EXAMPLES_DIR / "zed2i_usb_three.toml"))))
    assert all(n["color"] not in (ERROR_COLOUR, WARNING_COLOUR) for k, n in clean.items() if k.startswith("dev:"))


def test_daisy_chain_keeps_cable_order() -> None:
    """The nine-Kinect daisy chain draws eight cables k0 -> k1 -> ... -> k8, in order, whatever way rows run."""
    _, edges = _statements(to_dot(build_plan(load_rig(EXAMPLES_DIR / "kinect_daisy_chain.toml"))))
    chain = [(t, h) for t, h, a in edges if t.startswith("dev:") and h.startswith("dev:") and "sync in" in
             a.get("label", "")]
    assert sorted(chain) == [(f"dev:k{i}", f"dev:k{i + 1}") for i in range(8)]


@needs_dot
def test_render_writes_svg(tmp_path: Path) -> None:
    """render writes a non-empty SVG through Graphviz."""
    out = tmp_path / "studio.svg"
    render(build_plan(load_rig(EXAMPLES_DIR / "studio.toml")), out)
    text = html.unescape(out.read_text(encoding="utf-8"))
    assert "<svg" in text and "kinect-master" in text


def test_dot_output_needs_no_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A .dot file is written from the plan alone, with no Graphviz on PATH."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    plan = _problems()
    render(plan, tmp_path / "wiring.dot")
    assert (tmp_path / "wiring.dot").read_text(encoding="utf-8") == to_dot(plan)


def test_missing_dot_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without Graphviz, rendering SVG fails with a RigsyncError naming the apt and brew packages."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(RigsyncError, match="apt-get install graphviz") as info:
        render(_problems(), tmp_path / "wiring.svg")
    assert "brew install graphviz" in str(info.value)
    assert not (tmp_path / "wiring.svg").exists()


def test_unknown_suffix_is_refused(tmp_path: Path) -> None:
    """A diagram path with an unsupported suffix is a RigsyncError listing the formats."""
    with pytest.raises(RigsyncError, match=r"\.svg, \.png, \.pdf, \.dot"):
        render(_problems(), tmp_path / "wiring.jpg")


def test_a_dot_failure_is_one_line_not_its_dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """When dot fails with thousands of lines of diagnostics (its init_rank dump on a 2,000-device rig), the error
    names the file, dot's first line and how many more there were, and says what to do instead."""
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "dot").write_text("#!/bin/sh\necho 'Error: trouble in init_rank' >&2\n"
                              "i=0; while [ $i -lt 3000 ]; do echo \"\t%0 6\" >&2; i=$((i+1)); done\nexit 1\n")
    (fake / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", str(fake))
    with pytest.raises(RigsyncError) as info:
        render(_problems(), tmp_path / "wiring.svg")
    message = str(info.value)
    assert "wiring.svg: Error: trouble in init_rank (and 3,000 more lines)" in message
    assert "\n" not in message and "sfdp" in message and len(message) < 400
