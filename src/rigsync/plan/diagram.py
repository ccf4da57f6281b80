"""Draw a plan's wiring as a Graphviz diagram: hosts and their buses, devices, trigger cables and PTP.

``to_dot`` builds the DOT source from the plan alone (no Graphviz needed); ``render`` runs Graphviz's ``dot`` to
write SVG, PNG or PDF. One cluster per host holds its USB controllers, network interfaces and capture cards and
the devices on them (thin grey data edges). External triggers and an external PTP grandmaster sit outside the
hosts. Trigger cables are bold and coloured per sync group (see the legend), labelled with their ports, connector,
cable length and signal levels; star groups branch through a splitter node; a link that needs a level shifter is
red, one whose input sees no trigger is dashed red; PTP is dotted. Devices an error names are outlined red, a
warning orange. Daisy chains longer than four are folded into rows (a snake) so nine cameras stay legible.
"""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from html import escape
from pathlib import Path

from rigsync.catalog import get_model
from rigsync.catalog.base import Vendor
from rigsync.core.errors import RigsyncError
from rigsync.core.sync import LinkKind, SyncMethod, Topology
from rigsync.plan._dot import Attr as _Attr
from rigsync.plan._dot import attrs as _attrs
from rigsync.plan._dot import font as _font
from rigsync.plan._dot import html as _html
from rigsync.plan._dot import num as _num
from rigsync.plan._dot import q as _q
from rigsync.plan.model import DevicePlan, GroupPlan, Plan, Role, Severity, TriggerLink
from rigsync.spec.model import HostSpec

GROUP_COLOURS = ("#1f6fb4", "#2a9d3a", "#7b4bb7", "#8c5a2b", "#c2408f", "#14919b", "#8a8a17", "#4d4d4d")
"""One colour per sync group, in declaration order (red and orange are kept for problems)."""
ERROR_COLOUR = "#d62728"
WARNING_COLOUR = "#ff8c00"
DATA_COLOUR = "#a0a0a0"

RENDER_FORMATS = ("svg", "png", "pdf")
"""Formats ``render`` asks Graphviz for; ``.dot`` and ``.gv`` files are written without Graphviz."""

SNAKE_MIN = 5
"""Daisy chains of this many nodes or more are folded into rows."""

INSTALL_HINT = ("install Graphviz, which provides it: apt-get install graphviz (Debian/Ubuntu) or "
                "brew install graphviz (macOS); or write the diagram as .dot, which needs no Graphviz")

def to_dot(plan: Plan) -> str:
    """Graphviz DOT source of the plan's wiring (left to right: triggers, devices, each host's buses)."""
    return "\n".join(_Drawing(plan).lines()) + "\n"


def render(plan: Plan, path: Path) -> None:
    """Write the wiring diagram to ``path``: ``.svg``, ``.png`` or ``.pdf`` through Graphviz ``dot``, or ``.dot``
    (``.gv``) as DOT source without Graphviz. :class:`RigsyncError` if ``dot`` is missing or fails."""
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    source = to_dot(plan)
    if fmt in ("dot", "gv"):
        path.write_text(source, encoding="utf-8")
        return
    if fmt not in RENDER_FORMATS:
        raise RigsyncError(f"{path}: cannot draw a diagram as {path.suffix or '(no suffix)'!r} "
                           "(allowed: .svg, .png, .pdf, .dot)")
    dot = shutil.which("dot")
    if dot is None:
        raise RigsyncError(f"drawing {path} needs the Graphviz 'dot' program, which is not on PATH: {INSTALL_HINT}")
    result = subprocess.run([dot, f"-T{fmt}", "-o", str(path)], input=source.encode("utf-8"),
                            capture_output=True, check=False)
    if result.returncode != 0:
        lines = result.stderr.decode("utf-8", "replace").strip().splitlines() or [f"exit status {result.returncode}"]
        more = f" (and {len(lines) - 1:,} more lines)" if len(lines) > 1 else ""
        raise RigsyncError(f"Graphviz dot could not draw {path}: {lines[0]}{more}; a rig of "
                           f"{len(plan.devices):,} devices may be beyond dot's layout: write the diagram as .dot and "
                           "draw it with another Graphviz engine (sfdp -Tsvg), or draw part of the rig")


# --- what the labels say --------------------------------------------------------------------------------------
def _short_port(port: str, owner: str) -> str:
    """``k0 sync-out`` -> ``sync out``; ``genlock-gen output`` -> ``output``."""
    return port.removeprefix(owner.split(":", 1)[-1] + " ").replace("sync-", "sync ")


def _short_connector(connector: str) -> str:
    """The connector's kind without its pin-out: ``3.5 mm``, ``9-pin JST SH``, ``GMSL2``."""
    size = re.match(r"[\d.]+ mm\b", connector)
    if size:
        return size.group(0)
    return re.split(r" \(| '|,| through ", connector, maxsplit=1)[0]


def _levels(link: TriggerLink) -> str:
    if link.level_out_v is None and link.level_in_v is None:
        return ""
    out = "?" if link.level_out_v is None else f"{_num(link.level_out_v)} V"
    into = "?" if link.level_in_v is None else f"{_num(link.level_in_v)} V"
    return f"{out} -> {into}"


def _vendor_role(d: DevicePlan, vendor: Vendor) -> str:
    """``subordinate``, ``PRIMARY (master)``, ``inter-cam sync mode 4 (genlock)``."""
    role = f"inter-cam sync mode {d.vendor_role}" if vendor is Vendor.INTEL else d.vendor_role
    return role if d.role.value in role else f"{role} ({d.role.value})"


class _Drawing:
    """The statements of one diagram. Not public API."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.rig = plan.rig
        self.colour = {g.name: GROUP_COLOURS[i % len(GROUP_COLOURS)] for i, g in enumerate(plan.groups)}
        self.problems: dict[str, list[tuple[Severity, str]]] = {}
        for diag in plan.diagnostics:
            if diag.severity is not Severity.INFO:
                for device in diag.devices:
                    found = self.problems.setdefault(device, [])
                    if (diag.severity, diag.rule) not in found:
                        found.append((diag.severity, diag.rule))
        self.links = {g.name: sorted((d.trigger for d in plan.members(g.name) if d.trigger), key=lambda lk: lk.hop)
                      for g in plan.groups}
        self.hubs: dict[tuple[str, str], tuple[str, str | None]] = {}
        """(group, link source) -> (splitter node, the host whose cluster holds it, or None: outside the hosts)."""
        self.branches: dict[tuple[str, str], list[TriggerLink]] = {}
        """(group, link source) -> the links it drives."""
        for g in plan.groups:
            for lk in self.links[g.name]:
                self.branches.setdefault((g.name, lk.source), []).append(lk)
        self.hubs_at: dict[str | None, list[tuple[str, str, str]]] = {}
        """Host (None: outside the hosts) -> (group, link source, splitter node) drawn there."""
        self.hubs_of: dict[str, list[tuple[str, str]]] = {}
        """Group -> (link source, splitter node)."""
        for (group, source), branches in self.branches.items():
            split = plan.group(group).topology is Topology.STAR or any(lk.splitter for lk in branches)
            if len(branches) > 1 and split:  # one branch needs no splitter
                ends = {source, *(lk.target for lk in branches)}
                hosts = {self.host_of(e) for e in ends if not e.startswith(("trigger:", "card:"))}
                inside = len(hosts) == 1 and not source.startswith(("trigger:", "card:"))
                hub, at = f"splitter:{group}:{source}", hosts.pop() if inside else None
                self.hubs[(group, source)] = (hub, at)
                self.hubs_at.setdefault(at, []).append((group, source, hub))
                self.hubs_of.setdefault(group, []).append((source, hub))
        self.rows: list[list[str]] = []
        """Daisy chains folded into rows of node ids (odd rows run right to left)."""
        self.row_of: dict[str, int] = {}
        for g in plan.groups:
            chain = self.chain(g)
            if len(chain) >= SNAKE_MIN:
                width = math.ceil(math.sqrt(len(chain)))
                for i, node in enumerate(chain):
                    if i % width == 0:
                        self.rows.append([])
                    self.row_of[node] = len(self.rows) - 1
                    self.rows[-1].append(node)
        self.rows_at: dict[str, list[tuple[int, list[str]]]] = {}
        """Host -> the rows (index, nodes) with a device on it."""
        for r, row in enumerate(self.rows):
            for host in dict.fromkeys(self.host_of(n.removeprefix("dev:")) for n in row if n.startswith("dev:")):
                self.rows_at.setdefault(host, []).append((r, row))
        self.hosts_planned = {h.host for h in plan.hosts}

    # --- node ids -------------------------------------------------------------------------------------------
    @staticmethod
    def dev(device: str) -> str:
        return f"dev:{device}"

    def host_of(self, device: str) -> str:
        return self.plan.spec(device).host

    def bus(self, device: str) -> str:
        spec = self.plan.spec(device)
        kind = {LinkKind.USB: "usb", LinkKind.ETHERNET: "nic", LinkKind.GMSL: "card"}[spec.connection.kind]
        return f"{kind}:{spec.host}:{spec.connection.bus}"

    def node(self, source: str, target: str) -> str:
        """The node a link's source names: a device, ``trigger:<name>``, or ``card:<name>`` on the target's host."""
        if source.startswith("trigger:"):
            return source
        if source.startswith("card:"):
            return f"card:{self.host_of(target)}:{source.removeprefix('card:')}"
        return self.dev(source)

    def chain(self, group: GroupPlan) -> list[str]:
        """A daisy chain's nodes in cable order (empty for other topologies)."""
        links = self.links[group.name]
        if group.topology is not Topology.DAISY_CHAIN or not links:
            return []
        return [self.node(links[0].source, links[0].target), *(self.dev(lk.target) for lk in links)]

    # --- the drawing ----------------------------------------------------------------------------------------
    def lines(self) -> list[str]:
        graph: dict[str, _Attr] = dict(
            rankdir="LR", fontname="Helvetica", fontsize=16, labelloc="t", nodesep=0.25, ranksep=0.6,
            newrank=True, pad=0.3, label=f"rigsync wiring: {self.rig.name}")
        if self.rows:
            graph["mclimit"] = 0.01  # keep the snake's rows in cable order rather than untangling the data path
        out = [f"digraph {_q(self.rig.name)} {{", "  graph " + _attrs(**graph) + ";",
               "  node " + _attrs(fontname="Helvetica", fontsize=11, shape="box", style="rounded,filled",
                                  fillcolor="white", penwidth=1.2) + ";",
               "  edge " + _attrs(fontname="Helvetica", fontsize=9, arrowsize=0.7) + ";"]
        out += self.legend()
        out += self.trigger_nodes()
        hosts = list(self.rig.hosts)
        hosts += [HostSpec(n) for n in self.plan.index.on_host if n not in self.plan.index.hosts]
        for i, host in enumerate(hosts):
            out += self.host_cluster(i, host)
        out += self.splitter_nodes(None)
        for g in self.plan.groups:
            out += self.group_edges(g)
        out += self.ptp_edges()
        out.append("}")
        return out

    def host_cluster(self, index: int, host: HostSpec) -> list[str]:
        setup = self.plan.host(host.name) if host.name in self.hosts_planned else None
        title = [_font(host.name, bold=True, size=14) + " " + _font(f"({host.platform.value})", size=11)]
        if setup is not None and setup.ptp_role:
            where = f" on {setup.ptp_interface}" if setup.ptp_interface else ""
            stamping = f", {setup.timestamping} timestamping" if setup.timestamping else ""
            title.append(_font(f"PTP {setup.ptp_role}{where}{stamping}", size=10))
        out = [f"  subgraph {_q(f'cluster_host_{index}')} {{",
               "    graph " + _attrs(label=_html(*title, left=True), style="rounded,filled", color="#9aa5b1",
                                     fillcolor="#f4f6f8", labeljust="l", margin=12) + ";"]
        devices = [self.plan.device(d.id) for d in self.plan.index.on_host.get(host.name, ())]
        for d in devices:
            out.append(f"    {_q(self.dev(d.device_id))} {self.device_attrs(d)};")
        for r, row in self.rows_at.get(host.name, []):  # rows of a folded daisy chain stay together
            mine = [n for n in row if n.startswith("dev:") and self.host_of(n.removeprefix("dev:")) == host.name]
            if mine:
                out.append(f"    subgraph {_q(f'cluster_row_{index}_{r}')} {{ graph [peripheries=0, label=\"\", "
                           f"margin=4]; {' '.join(_q(n) + ';' for n in mine)} }}")
        out += [f"  {line}" for line in self.splitter_nodes(host.name)]
        for node, label in self.bus_nodes(host, devices):
            out.append(f"    {_q(node)} " + _attrs(label=label, style="filled", fillcolor="#e3e8ee", color="#7a8794",
                                                     fontsize=10) + ";")
        if not devices and not host.usb_controllers and not host.nics and not host.capture_cards:
            out.append(f"    {_q(f'empty:{host.name}')} " + _attrs(label="no devices", shape="plaintext",
                                                                  fontcolor="#7a8794") + ";")
        for d in devices:  # the data path
            out.append(f"    {_q(self.dev(d.device_id))} -> {_q(self.bus(d.device_id))} " +
                       _attrs(color=DATA_COLOUR, penwidth=0.8, arrowhead="none", weight=2) + ";")
        out.append("  }")
        return out

    def bus_nodes(self, host: HostSpec, devices: list[DevicePlan]) -> list[tuple[str, str]]:
        """Controllers, NICs and capture cards of a host: declared ones, then implicit ones its devices name."""
        nodes: dict[str, str] = {}
        for c in host.usb_controllers:
            nodes[f"usb:{host.name}:{c.name}"] = f"USB {c.name}"
        for n in host.nics:
            nodes[f"nic:{host.name}:{n.name}"] = (f"NIC {n.name}\n{_num(n.speed_gbps)} Gb/s {n.kind.value}, "
                                                  f"{n.timestamping.value} timestamping")
        for card in host.capture_cards:
            nodes[f"card:{host.name}:{card.name}"] = f"{card.model} {card.name}\nGMSL2, up to {card.capacity} cameras"
        for d in devices:
            kind, _, name = self.bus(d.device_id).split(":", 2)
            nodes.setdefault(self.bus(d.device_id), {"usb": "USB", "nic": "NIC", "card": "card"}[kind] + f" {name}")
        budgets = {(b.kind, b.resource): b for b in self.plan.budgets if b.host == host.name}
        for node, label in list(nodes.items()):
            kind, _, name = node.split(":", 2)
            budget = budgets.get((kind, name))  # usb and nic budgets: the data each carries
            if budget is not None:
                cap = f" / {budget.capacity:.0f}" if budget.capacity else ""
                nodes[node] = f"{label}\n{budget.used:.0f}{cap} {budget.unit}"
        return list(nodes.items())

    def device_attrs(self, d: DevicePlan) -> str:
        spec = self.plan.spec(d.device_id)
        model = get_model(spec.model)
        role = _vendor_role(d, model.vendor)
        if d.group:
            role = f"{d.group}: {role}"
        if d.delay_ns:
            role += f", +{_num(d.delay_ns / 1000)} us"
        rows = [_font(d.device_id, bold=True, size=12), _font(model.name, size=10),
                _font(role, colour=self.colour.get(d.group or "", "#555555"), size=10)]
        for s in spec.streams:
            free = " (free-runs)" if d.synced_streams and s.name not in d.synced_streams else ""
            rows.append(_font(f"{s.name} {s.width}x{s.height} @{_num(s.fps)}{free}", size=9))
        problems = self.problems.get(d.device_id, [])
        for severity, rule in problems:
            rows.append(_font(f"{severity.value} {rule}",
                              colour=ERROR_COLOUR if severity is Severity.ERROR else WARNING_COLOUR, size=9))
        severities = {s for s, _ in problems}
        outline = ERROR_COLOUR if Severity.ERROR in severities else WARNING_COLOUR if severities else "#333333"
        return _attrs(label=_html(*rows), color=outline, penwidth=3 if severities else 1.2,
                      tooltip=f"{d.device_id}: {model.name}, serial {spec.serial}, {spec.connection}")

    def trigger_nodes(self) -> list[str]:
        out = []
        for trig in self.rig.triggers:
            rows = [_font(f"trigger {trig.name}", bold=True, size=12),
                    _font(f"{_num(trig.rate_hz)} Hz {trig.pattern.value}, {_num(trig.level_v)} V", size=10),
                    _font(f"pulse {_num(trig.pulse_width_us)} us, {_num(trig.drive_ma)} mA", size=10)]
            out.append(f"  {_q(f'trigger:{trig.name}')} " + _attrs(
                label=_html(*rows), style="filled", fillcolor="#fff7d6", color="#8a6d00", penwidth=1.5) + ";")
        return out

    def splitter_nodes(self, host: str | None) -> list[str]:
        """The splitters drawn in ``host``'s cluster (None: outside the hosts)."""
        out = []
        for group, source, hub in self.hubs_at.get(host, []):
            count = len(self.branches[(group, source)])
            out.append(f"  {_q(hub)} " + _attrs(label=f"splitter\n1 -> {count}", shape="circle", fontsize=8,
                                                width=0.55, fixedsize=True, color=self.colour[group],
                                                penwidth=2) + ";")
        return out

    def group_edges(self, group: GroupPlan) -> list[str]:
        """The group's trigger edges: source -> splitter -> device for star groups, source -> device otherwise."""
        colour = self.colour[group.name]
        out: list[str] = []
        for source, hub in self.hubs_of.get(group.name, []):
            first = self.branches[(group.name, source)][0]
            level = "" if first.level_out_v is None else f"\n{_num(first.level_out_v)} V"
            out.append(f"  {_q(self.node(source, first.target))} -> {_q(hub)} " + _attrs(
                color=colour, penwidth=2.5, arrowhead="none", label=_short_port(first.source_port, source) + level,
                tooltip=f"{group.name}: {first.source_port} -> splitter") + ";")
        for lk in self.links[group.name]:
            hub_at = self.hubs.get((group.name, lk.source))
            out.append(self.link_edge(group, lk, colour, hub_at[0] if hub_at else None))
        return out

    def link_edge(self, group: GroupPlan, link: TriggerLink, colour: str, hub: str | None) -> str:
        tail, head = hub or self.node(link.source, link.target), self.dev(link.target)
        into = _short_port(link.target_port, link.target)
        ports = f"-> {into}" if hub else f"{_short_port(link.source_port, link.source)} -> {into}"
        cable = ", ".join(x for x in (_short_connector(link.connector), f"{_num(link.cable_m)} m") if x)
        rows = [f"{ports}, {cable}", *([_levels(link)] if _levels(link) else [])]
        attrs: dict[str, _Attr] = {"color": colour, "penwidth": 2.5}
        if link.level_shifter:
            rows.append("LEVEL SHIFTER NEEDED")
            attrs.update(color=ERROR_COLOUR, fontcolor=ERROR_COLOUR, penwidth=3)
        if not link.detected:
            rows.append("no trigger reaches the input")
            attrs.update(color=ERROR_COLOUR, fontcolor=ERROR_COLOUR, style="dashed")
        if link.source.startswith("card:"):
            attrs["constraint"] = False  # the card sits right of its cameras, with the data path
        attrs["tooltip"] = f"{group.name}: {link.source_port} -> {link.target_port} ({link.connector})"
        if tail in self.row_of and self.row_of[tail] % 2 == 1:  # a snake row running right to left
            tail, head = head, tail
            attrs["dir"] = "back"
        return f"  {_q(tail)} -> {_q(head)} " + _attrs(label="\n".join(rows), **attrs) + ";"

    def ptp_edges(self) -> list[str]:
        out: list[str] = []
        ptp_nic = {h.host: h.ptp_interface for h in self.plan.hosts}
        drawn: set[str] = set()
        for spec in self.rig.sync_groups:
            if spec.method is not SyncMethod.PTP:
                continue
            colour = self.colour[spec.name]
            gm = spec.ptp.grandmaster if spec.ptp is not None else "external"
            gm_host = gm if gm in {h.name for h in self.rig.hosts} else None
            if gm_host is not None and ptp_nic.get(gm_host):
                gm_node = f"nic:{gm_host}:{ptp_nic[gm_host]}"
            else:
                gm_node = f"ptp:{gm}"
                if gm_node not in drawn:
                    drawn.add(gm_node)
                    label = _html(_font("PTP grandmaster", bold=True, size=11), _font(gm, size=10),
                                  _font(f"domain {spec.ptp.domain if spec.ptp else 0}", size=9))
                    out.append(f"  {_q(gm_node)} " + _attrs(label=label, style="filled,dotted", fillcolor="#eef2ff",
                                                             color=colour, penwidth=1.6) + ";")
            targets: list[tuple[str, str]] = []
            for member in spec.members:
                host = self.host_of(member.device)
                if self.plan.device(member.device).role is Role.PTP:  # its own PTP clock: the camera is a slave
                    targets.append((self.dev(member.device), host))
                if host != gm_host and ptp_nic.get(host):  # the host's clock follows the grandmaster too
                    targets.append((f"nic:{host}:{ptp_nic[host]}", host))
            for target, host in dict.fromkeys(targets):
                if f"{gm_node}>{target}" in drawn or gm_node == target:
                    continue
                drawn.add(f"{gm_node}>{target}")
                out.append(f"  {_q(gm_node)} -> {_q(target)} " + _attrs(
                    style="dotted", color=colour, fontcolor=colour, penwidth=1.8, label="PTP", arrowhead="open",
                    constraint=host != gm_host) + ";")
        return out

    def legend(self) -> list[str]:
        rows = ['<TR><TD COLSPAN="2" ALIGN="LEFT"><B>sync groups</B></TD></TR>']
        for g in self.plan.groups:
            source = f", from {g.source.replace(':', ' ')}" if g.source else ""
            rate = "aligned by timestamps" if g.trigger_period_ns is None or g.method is SyncMethod.SOFTWARE \
                else f"{_num(round(1e9 / g.trigger_period_ns, 3))} Hz"
            swatch = {SyncMethod.PTP: "┈┈┈", SyncMethod.SOFTWARE: "●"}.get(g.method, "━━━")
            rows.append(self.legend_row(swatch, self.colour[g.name],
                                        f"{g.name}: {g.method.value} {g.topology.value}{source}, {rate}"))
        rows.append('<TR><TD COLSPAN="2" ALIGN="LEFT"><B>lines and outlines</B></TD></TR>')
        links = [lk for group in self.links.values() for lk in group]
        severities = {s for found in self.problems.values() for s, _ in found}
        ptp = any(g.method is SyncMethod.PTP for g in self.plan.groups)
        for swatch, colour, text, shown in (
            ("───", DATA_COLOUR, "data path (USB, Ethernet, GMSL2)", True),
            ("┈┈┈", "#404040", "PTP (in its group's colour)", ptp),
            ("━━━", ERROR_COLOUR, "level shifter needed", any(lk.level_shifter for lk in links)),
            ("╍╍╍", ERROR_COLOUR, "no trigger reaches the input", any(not lk.detected for lk in links)),
            ("□", ERROR_COLOUR, "device with an error", Severity.ERROR in severities),
            ("□", WARNING_COLOUR, "device with a warning", Severity.WARNING in severities),
        ):
            if shown:
                rows.append(self.legend_row(swatch, colour, text))
        table = '<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1">' + "".join(rows) + "</TABLE>>"
        return [f"  legend {_attrs(label=table, style='rounded', color='#9aa5b1', fontsize=10)};"]

    @staticmethod
    def legend_row(swatch: str, colour: str, text: str) -> str:
        return (f'<TR><TD><FONT COLOR="{colour}" POINT-SIZE="12"><B>{swatch}</B></FONT></TD>'
                f'<TD ALIGN="LEFT">{escape(text)}</TD></TR>')


__all__ = ["INSTALL_HINT", "RENDER_FORMATS", "render", "to_dot"]
