"""Terminal rendering of a plan: per sync group and host, start order, timing, budgets, diagnostics."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from rigsync.catalog import get_model
from rigsync.cli.aligned import LONG_OUTPUT_ROWS, AlignedTable
from rigsync.cli.aligned import table as new_table
from rigsync.cli.plain import row, styled
from rigsync.core.ptp import PtpMode
from rigsync.core.units import NS_PER_S
from rigsync.plan.model import Diagnostic, Plan, Severity, TriggerLink

_COLOURS = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


def _link(link: TriggerLink | None) -> Text:
    if link is None:
        return Text("-")
    text = Text(f"{link.source_port} -> {link.target_port.split(' ', 1)[-1]}")
    if link.level_out_v is not None and link.level_in_v is not None:
        text.append(f", {link.level_out_v:g} V -> {link.level_in_v:g} V")
    if link.splitter:
        text.append(", via splitter")
    if link.cable_m:
        text.append(f", {link.cable_m:g} m")
    if link.level_shifter:
        text.append(", ").append("LEVEL SHIFTER NEEDED", "red")
    if not link.detected:
        text.append(", ").append("NO TRIGGER REACHES THE INPUT", "red")
    return text


def _groups(plan: Plan, aligned: bool) -> list[RenderableType]:
    out: list[RenderableType] = []
    ungrouped = [d for d in plan.devices if d.group is None]
    for g in plan.groups:
        rate = f"{NS_PER_S / g.trigger_period_ns:g} Hz" if g.trigger_period_ns else "-"
        if g.random_triggers:
            rate += " (random times)"
        table = new_table(Text(f"sync group {g.name}: {g.method.value}, {g.topology.value}, source "
                               f"{g.source or '-'}, trigger {rate}"),
                          ("device", "model", "host", "role (vendor)", "triggered through", "delay us",
                           "synced streams"), aligned)
        for device_id in g.members:
            d = plan.device(device_id)
            spec = plan.spec(device_id)
            delay = f"{d.delay_ns / 1000:g}" + (f" (+{d.depth_delay_ns / 1000:g} depth)" if d.depth_delay_ns else "")
            row(table, device_id, get_model(spec.model).name, spec.host, f"{d.role.value} ({d.vendor_role})",
                _link(d.trigger), delay, ", ".join(d.synced_streams) or "-")
        out.append(table)
    if ungrouped:
        table = new_table("free-running devices (no sync group)", ("device", "model", "host", "role (vendor)"),
                          aligned)
        for d in ungrouped:
            spec = plan.spec(d.device_id)
            row(table, d.device_id, get_model(spec.model).name, spec.host, f"{d.role.value} ({d.vendor_role})")
        out.append(table)
    return out


def _start(plan: Plan, aligned: bool) -> Table | AlignedTable:
    table = new_table(f"start order (then {plan.warmup_ns / NS_PER_S:g} s of warm-up frames are discarded)",
                      ("#", "action", "target", "why"), aligned)
    for i, step in enumerate(plan.start_steps, 1):
        row(table, str(i), step.action, step.target, step.why)
    return table


def _timing(plan: Plan, aligned: bool) -> list[RenderableType]:
    out: list[RenderableType] = []
    if plan.depth_windows:
        table = new_table("ToF depth windows (relative to the group trigger)",
                          ("device", "capture starts us", "exposure us", "laser pulses us"), aligned)
        for w in plan.depth_windows:
            first, last = w.pulse_windows_us[0], w.pulse_windows_us[-1]
            row(table, w.device, f"{w.start_us:g}", f"{w.exposure_us:g}",
                f"{len(w.pulse_windows_us)} x {first[1] - first[0]:g} us, {first[0]:g} to {last[1]:g}")
        out.append(table)
    for s in plan.staggers:
        out.append(Text(f"staggered group {s.group}: {s.cameras} cameras at {s.camera_fps:g} fps, {s.stagger_us:g} "
                        f"us apart -> about {s.effective_fps:,.0f} fps effective; keep exposures under "
                        f"{s.max_exposure_us:g} us for distinct time slices"))
    return out


def _budgets(plan: Plan, aligned: bool) -> Table | AlignedTable:
    table = new_table("budgets", ("resource", "host", "used", "capacity", "share", "devices"), aligned)
    for b in plan.budgets:
        ratio = b.ratio
        share = "-" if ratio is None else f"{100 * ratio:.0f}%"
        style = "red" if ratio is not None and ratio > 1 else ("yellow" if ratio is not None and ratio > 0.85 else "")
        capacity = "-" if b.capacity is None else f"{b.capacity:,.0f} {b.unit}"
        row(table, f"{b.kind} {b.resource}", b.host, f"{b.used:,.0f} {b.unit}", capacity, styled(share, style),
            ", ".join(b.devices))
    return table


def _hosts(plan: Plan, aligned: bool) -> Table | AlignedTable:
    table = new_table("host set-up", ("host", "PTP", "steps"), aligned)
    for h in plan.hosts:
        ptp = "-" if h.ptp_role is None else (f"{h.ptp_role} on {h.ptp_interface or '?'} ({h.timestamping or '?'}"
                                              f"{', observe' if h.ptp_mode is PtpMode.OBSERVE else ''})")
        row(table, h.host, ptp, "\n".join(f"- {s}" for s in h.steps) or "-")
    return table


DEVICES_SHOWN = 6
"""A diagnostic's devices listed in full up to this many; beyond, the first few and the count."""
GROUPS_SHOWN = 3
"""A rule reported in more groups than this is one row of the terminal view (``--json`` keeps each group's)."""


def _devices(devices: tuple[str, ...]) -> str:
    if len(devices) <= DEVICES_SHOWN:
        return ", ".join(devices)
    return ", ".join(devices[:DEVICES_SHOWN - 1]) + f", ... ({len(devices):,} devices)"


def _diagnostic_rows(plan: Plan) -> list[tuple[Severity, str, tuple[str, ...], str, str, str]]:
    """(severity, rule, devices, what, fix, source) per row: a diagnostic each, except that a rule reported in many
    groups (the same problem in each block of a stadium rig) is one row saying how many."""
    same: dict[tuple[Severity, str], list[Diagnostic]] = {}
    for d in plan.diagnostics:
        same.setdefault((d.severity, d.rule), []).append(d)
    rows = []
    for (severity, rule), found in same.items():
        if len(found) <= GROUPS_SHOWN:
            rows += [(severity, rule, d.devices, d.message, d.fix, d.source) for d in found]
            continue
        devices = tuple(dict.fromkeys(x for d in found for x in d.devices))
        rows.append((severity, rule, devices, f"{len(found):,} diagnostics (rigsync plan --json lists each), the "
                                              f"first: {found[0].message}", found[0].fix, found[0].source))
    return rows


def _diagnostics(plan: Plan) -> RenderableType:
    if not plan.diagnostics:
        return Text("no diagnostics: the rig plans cleanly", style="green")
    table = Table(title=f"diagnostics: {len(plan.errors)} error(s), {len(plan.warnings)} warning(s)",
                  title_justify="left")
    for col in ("severity", "rule", "devices", "what", "fix", "source"):
        table.add_column(col)
    for severity, rule, devices, message, fix, source in _diagnostic_rows(plan):
        row(table, styled(severity.value, _COLOURS[severity]), rule, _devices(devices), message, fix, source)
    return table


def plan_view(plan: Plan) -> RenderableType:
    rig = plan.rig
    head = Text(f"plan of {rig.name} ({rig.path}): {len(rig.devices)} devices on {len(rig.hosts)} host(s), "
                f"{len(plan.groups)} sync group(s)", style="bold")
    # A long plan (a stadium rig) is drawn as aligned columns: rich tables would take seconds to print it.
    rows = len(plan.devices) + len(plan.start_steps) + len(plan.depth_windows) + len(plan.budgets) + len(plan.hosts)
    aligned = rows > LONG_OUTPUT_ROWS
    parts: list[RenderableType] = [head, *_groups(plan, aligned), _start(plan, aligned), *_timing(plan, aligned),
                                   _budgets(plan, aligned), _hosts(plan, aligned), _diagnostics(plan)]
    return Group(*parts)
