"""Terminal rendering of capture status, summaries and recording info (rich)."""

from __future__ import annotations

import json

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rigsync.capture.session import CaptureResult
from rigsync.capture.status import CaptureStatus, StreamStatus
from rigsync.core.frame import TimeFlags
from rigsync.core.ptp import HostRole, SyncLevel
from rigsync.record.reader import RecordingSummary


def _us(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def status_table(status: CaptureStatus) -> Table:
    table = Table(title=f"rigsync capture  {status.elapsed_s:6.1f} s   framesets {status.framesets} "
                        f"({status.complete} complete)   written {status.written_mb:,.1f} MB",
                  title_justify="left", expand=False)
    table.add_column("stream", no_wrap=True)
    for col in ("fps", "frames", "drops", "skew p50 us", "skew p99 us", "clock bound us"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("clock", no_wrap=True)
    for s in status.streams:
        table.add_row(s.key, f"{s.fps:.0f}", str(s.frames), str(s.dropped) if s.dropped else "0",
                      _us(s.skew_p50_us), _us(s.skew_p99_us), _us(s.error_bound_us), _clock_state(s))
    return table


def _clock_state(s: StreamStatus) -> str:
    f = s.time_flags
    if f & TimeFlags.PTP_ERROR or f & TimeFlags.HOST_UNSYNCED:
        word = "ptp error" if f & TimeFlags.PTP_ERROR else "no reference"
        return f"[red]{word}[/]"
    if f & TimeFlags.PTP_UNLOCKED:
        return "[red]ptp unlocked[/]"
    if f & TimeFlags.SLEWING:
        return "[yellow]slewing[/]"
    if f & TimeFlags.PTP_WARN:
        return "[yellow]ptp warn[/]"
    return "locked" if s.locked else "[yellow]acquiring[/]"


def hosts_table(status: CaptureStatus) -> Table | None:
    """Each host's tie to the rig reference (the Emergent Status view: state, offset, level)."""
    if len(status.hosts) < 2 and not any(h.role is HostRole.PTP for h in status.hosts):
        return None
    table = Table(title="hosts", title_justify="left", expand=False)
    for col in ("host", "clock", "port", "offset", "path delay", "bound", "level"):
        table.add_column(col, no_wrap=True)
    for h in status.hosts:
        clock = h.role.value + (f" ({h.mode.value})" if h.mode else "")
        colour = {SyncLevel.OK: "green", SyncLevel.WARN: "yellow", SyncLevel.ERROR: "red"}[h.level]
        table.add_row(escape(h.host), clock, h.port_state.value if h.port_state else "-",
                      _ns(h.offset_ns), _ns(h.mean_path_delay_ns), _ns(h.bound_ns),
                      f"[{colour}]{h.level.value}[/] {escape(h.reason)}")
    return table


def _ns(value: int | None) -> str:
    if value is None:
        return "-"
    return f"{value} ns" if abs(value) < 10_000 else f"{value / 1000:,.1f} us" if abs(value) < 10_000_000 else \
        f"{value / 1e6:,.1f} ms"


class LiveView:
    """Status table plus a progress bar when the capture has a duration."""

    def __init__(self, seconds: float | None) -> None:
        self._progress: Progress | None = None
        self._task = None
        if seconds is not None:
            self._progress = Progress(TextColumn("capturing"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                                      TimeElapsedColumn())
            self._task = self._progress.add_task("capture", total=seconds)
        self._status: CaptureStatus | None = None

    def update(self, status: CaptureStatus) -> None:
        self._status = status
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=min(status.elapsed_s, status.seconds or 0.0))

    def render(self) -> RenderableType:
        parts: list[RenderableType] = []
        if self._status is not None:
            parts.append(status_table(self._status))
            hosts = hosts_table(self._status)
            if hosts is not None:
                parts.append(hosts)
            for w in self._status.warnings:
                parts.append(f"[yellow]warning:[/] {w}")
        if self._progress is not None:
            parts.append(self._progress)
        return Group(*parts)


def result_summary(result: CaptureResult) -> Table:
    table = Table(title="capture summary", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value")
    table.add_row("recording", str(result.path))
    table.add_row("duration", f"{result.duration_s:.2f} s" + ("  (stopped by Ctrl-C)" if result.interrupted else ""))
    table.add_row("frames", f"{result.frames:,}")
    pct = 100.0 * result.complete / result.framesets if result.framesets else 0.0
    table.add_row("framesets", f"{result.framesets:,} ({result.complete:,} complete, {pct:.1f}%)")
    drops = ", ".join(f"{k} {v}" for k, v in sorted(result.dropped.items())) or "none"
    table.add_row("frames in no frameset", drops)
    if result.start_rig_ns is not None:
        late = ", ".join(f"{d} {ns / 1e6:.1f} ms" for d, ns in sorted(result.late.items()))
        table.add_row("scheduled start", f"rig time {result.start_rig_ns} ns; late: {late or 'none'}")
    for h in result.status.hosts:
        if h.role is HostRole.PTP or len(result.status.hosts) > 1:
            table.add_row(escape(f"host {h.host}"), escape(f"{h.level.value}: {h.reason}"))
    if result.error:
        table.add_row("[red]error[/]", result.error)
    return table


def info_tables(summary: RecordingSummary, metadata: dict[str, dict[str, str]]) -> list[Table]:
    head = Table(title=summary.path, show_header=False, title_justify="left")
    head.add_column("what")
    head.add_column("value")
    head.add_row("rigsync version", summary.version)
    head.add_row("duration", f"{summary.duration_s:.2f} s")
    head.add_row("devices", ", ".join(summary.devices))
    incomplete = ", ".join(f"{k} {v}" for k, v in sorted(summary.missing_reasons.items()))
    head.add_row("framesets", f"{summary.framesets_total:,} ({summary.framesets_complete:,} complete"
                              + (f"; missing members: {incomplete}" if incomplete else "") + ")")
    if summary.recovered:
        head.add_row("[yellow]recovered[/]", "the file was not closed; read up to its last complete chunk")
    stats = metadata.get("rigsync.stats", {})
    clocks = metadata.get("rigsync.clocks", {})
    streams = Table(title="streams", title_justify="left")
    for col in ("stream", "encoding", "size", "frames", "dropped", "clock", "drift ppm", "bound us"):
        streams.add_column(col, no_wrap=True)
    for s in summary.streams:
        key = f"{s.device}/{s.stream}"
        dropped = "-"
        if key in stats:
            d = json.loads(stats[key]).get("dropped", {})
            dropped = ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "0"
        clock, drift, bound = "-", "-", "-"
        if s.device in clocks:
            c = json.loads(clocks[s.device])
            clock = str(c.get("domain", "-"))
            if c.get("drift_ppm") is not None:
                drift, bound = f"{c['drift_ppm']:+.2f}", f"{c['error_bound_ns'] / 1000:.1f}"
        streams.add_row(key, s.encoding, f"{s.width}x{s.height}", f"{s.message_count:,}", dropped, clock, drift,
                        bound)
    tables = [head, streams]
    if "hosts" in stats:
        hosts = Table(title="hosts (at the end of the capture)", title_justify="left")
        for col in ("host", "clock", "port", "offset", "bound", "steps", "level"):
            hosts.add_column(col, no_wrap=True)
        for h in json.loads(stats["hosts"]):
            clock = str(h["role"]) + (f" ({h['mode']})" if h.get("mode") else "")
            hosts.add_row(escape(str(h["host"])), clock, str(h.get("port_state") or "-"), _ns(h.get("offset_ns")),
                          _ns(h.get("bound_ns")), str(h.get("steps", 0)), escape(f"{h['level']}: {h['reason']}"))
        tables.append(hosts)
    if "scheduled_start" in stats:
        start = json.loads(stats["scheduled_start"])
        late = ", ".join(f"{d} {ns / 1e6:.1f} ms" for d, ns in sorted(start["late_ns"].items())) or "none"
        head.add_row("scheduled start", f"rig time {start['rig_ns']} ns; late: {late}")
    return tables
