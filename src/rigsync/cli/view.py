"""Terminal rendering of capture status, summaries and recording info (rich)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group, RenderableType
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from rigsync.capture.session import CaptureResult
from rigsync.capture.status import CaptureStatus, StreamStatus
from rigsync.cli.plain import row, styled
from rigsync.core.frame import TimeFlags
from rigsync.core.ptp import HostRole, SyncLevel
from rigsync.net.link import HostLink, LinkState
from rigsync.record.reader import RecordingSummary
from rigsync.timebase.host import HostSyncStatus


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
        row(table, s.key, f"{s.fps:.0f}", str(s.frames), str(s.dropped) if s.dropped else "0",
            _us(s.skew_p50_us), _us(s.skew_p99_us), _us(s.error_bound_us), _clock_state(s))
    return table


def _clock_state(s: StreamStatus) -> Text:
    f = s.time_flags
    if f & TimeFlags.PTP_ERROR or f & TimeFlags.HOST_UNSYNCED:
        return styled("ptp error" if f & TimeFlags.PTP_ERROR else "no reference", "red")
    if f & TimeFlags.PTP_UNLOCKED:
        return styled("ptp unlocked", "red")
    if f & TimeFlags.SLEWING:
        return styled("slewing", "yellow")
    if f & TimeFlags.PTP_WARN:
        return styled("ptp warn", "yellow")
    return Text("locked") if s.locked else styled("acquiring", "yellow")


_LINK_COLUMNS = ("link", "frames/s", "MB/s", "queue", "spilled/dropped", "malformed")
_PTP_COLUMNS = ("clock", "port", "offset", "path delay", "bound", "level")
_JOINED_PTP_COLUMNS = ("clock", "port", "offset", "bound", "level")  # (a narrower table beside the links)
_LEVEL_COLOURS = {SyncLevel.OK: "green", SyncLevel.WARN: "yellow", SyncLevel.ERROR: "red"}


def hosts_table(status: CaptureStatus) -> Table | None:
    """Each host's tie to the rig reference (the Emergent Status view: state, offset, level) and, in a capture
    across hosts, its link (state, rates over the last second, the agent's send queue and counters)."""
    if not status.links and len(status.hosts) < 2 and not any(h.role is HostRole.PTP for h in status.hosts):
        return None
    table = Table(title="hosts", title_justify="left", expand=False)
    table.add_column("host", no_wrap=True)
    for col in _LINK_COLUMNS if status.links else ():
        table.add_column(col, no_wrap=True, justify="left" if col == "link" else "right")
    ptp_columns = _JOINED_PTP_COLUMNS if status.links else _PTP_COLUMNS
    for col in ptp_columns:
        table.add_column(col, no_wrap=True)
    for host, link, sync in _by_host(status):
        ptp = dict(zip(_PTP_COLUMNS, _ptp_cells(sync), strict=True))
        row(table, host, *(_link_cells(link) if status.links else ()), *(ptp[c] for c in ptp_columns))
    return table


def _by_host(status: CaptureStatus) -> list[tuple[str, HostLink | None, HostSyncStatus | None]]:
    """Each host's link and PTP status (either may be absent): the links' hosts first, in their order."""
    links = {link.host: link for link in status.links}
    sync = {h.host: h for h in status.hosts}
    return [(host, links.get(host), sync.get(host)) for host in dict.fromkeys([*links, *sync])]


def _link_cells(link: HostLink | None) -> list[str | Text]:
    if link is None:
        return ["-"] * len(_LINK_COLUMNS)
    local = link.state is LinkState.LOCAL
    spilled_dropped = "-" if link.frames_spilled is None else f"{link.frames_spilled:,}/{link.frames_dropped or 0:,}"
    return [link_state(link), f"{link.frames_per_s:,.0f}", f"{link.mb_per_s:,.1f}", _queue(link), spilled_dropped,
            "-" if local else f"{link.malformed:,}"]


def _ptp_cells(h: HostSyncStatus | None) -> list[str | Text]:
    if h is None:
        return ["-"] * len(_PTP_COLUMNS)
    clock = h.role.value + (f" ({h.mode.value})" if h.mode else "")
    return [clock, h.port_state.value if h.port_state else "-", _ns(h.offset_ns), _ns(h.mean_path_delay_ns),
            _ns(h.bound_ns), Text.assemble((h.level.value, _LEVEL_COLOURS[h.level]), f" {h.reason}")]


def link_state(link: HostLink) -> Text:
    """``up``, ``local``, ``never heard`` or ``silent 3.2 s`` (red when not up)."""
    if link.state is LinkState.SILENT:
        return styled(f"silent {link.silent_s or 0.0:.1f} s", "red")
    if link.state is LinkState.NEVER:
        return styled("never heard", "red")
    return Text(link.state.value)


def _queue(link: HostLink) -> str:
    if link.queue_depth is None:
        return "-"
    return f"{link.queue_depth:,} ({(link.queue_bytes or 0) / 1e6:,.1f} MB)"


def link_summary(link: HostLink) -> str:
    """A host's link over the capture, in the summary: totals, mean rates, the agent's last counters."""
    text = (f"{link.frames_received:,} frames, {link.bytes_received / 1e6:,.1f} MB received "
            f"({link.mean_frames_per_s:,.1f} frames/s, {link.mean_mb_per_s:,.1f} MB/s)")
    if link.state is LinkState.LOCAL:
        return f"local; {text}"
    agent = ("no heartbeat" if link.frames_sent is None else
             f"agent sent {link.frames_sent:,}, spilled {link.frames_spilled:,}, dropped {link.frames_dropped:,}, "
             f"queue {_queue(link)}")
    return f"{link_state(link).plain}; {text}; {agent}; malformed {link.malformed:,}"


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
                parts.append(Text.assemble(("warning:", "yellow"), f" {w}"))
        if self._progress is not None:
            parts.append(self._progress)
        return Group(*parts)


def result_summary(result: CaptureResult) -> Table:
    table = Table(title="capture summary", show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value")
    row(table, "recording", str(result.path))
    stopped = "  (stopped early: Ctrl-C, SIGTERM or a stop request)" if result.interrupted else ""
    row(table, "duration", f"{result.duration_s:.2f} s{stopped}")
    row(table, "frames", f"{result.frames:,}")
    pct = 100.0 * result.complete / result.framesets if result.framesets else 0.0
    row(table, "framesets", f"{result.framesets:,} ({result.complete:,} complete, {pct:.1f}%)")
    drops = ", ".join(f"{k} {v}" for k, v in sorted(result.dropped.items())) or "none"
    row(table, "frames in no frameset", drops)
    if result.start_rig_ns is not None:
        late = ", ".join(f"{d} {ns / 1e6:.1f} ms" for d, ns in sorted(result.late.items()))
        row(table, "scheduled start", f"rig time {result.start_rig_ns} ns; late: {late or 'none'}")
    for host, link, h in _by_host(result.status):
        ptp = f"{h.level.value}: {h.reason}" if h is not None and (
            h.role is HostRole.PTP or len(result.status.hosts) > 1) else None
        if link is not None:
            row(table, f"host {host}", link_summary(link) + (f"; clock {ptp}" if ptp else ""))
        elif ptp is not None:
            row(table, f"host {host}", ptp)
    if result.error:
        row(table, styled("error", "red"), result.error)
    return table


def _json(text: str | None) -> Any:
    """A JSON metadata value of a recording, or None when it is absent or unreadable (a foreign file)."""
    try:
        return json.loads(text) if text is not None else None
    except (ValueError, RecursionError):
        return None


def _field(record: Any, key: str) -> Any:
    return record.get(key) if isinstance(record, dict) else None


def _num(value: Any, fmt: str, scale: float = 1.0) -> str:
    return format(value / scale, fmt) if isinstance(value, int | float) and not isinstance(value, bool) else "-"


def info_tables(summary: RecordingSummary, metadata: dict[str, dict[str, str]]) -> list[Table]:
    """``rigsync info``: the recording, its streams, hosts and scheduled start. Every value comes from the file
    and is shown as plain text; metadata a foreign or damaged file holds in another shape is shown as ``-``."""
    head = Table(title=Text(summary.path), show_header=False, title_justify="left")
    head.add_column("what")
    head.add_column("value")
    row(head, "rigsync version", summary.version or "- (not written by rigsync)")
    row(head, "duration", f"{summary.duration_s:.2f} s")
    row(head, "devices", ", ".join(summary.devices))
    incomplete = ", ".join(f"{k} {v}" for k, v in sorted(summary.missing_reasons.items()))
    row(head, "framesets", f"{summary.framesets_total:,} ({summary.framesets_complete:,} complete"
                           + (f"; missing members: {incomplete}" if incomplete else "") + ")")
    if summary.recovered:
        row(head, styled("recovered", "yellow"), summary.recovery or "the file was not closed; read up to its last "
                                                                       "complete chunk")
    stats = metadata.get("rigsync.stats", {})
    clocks = metadata.get("rigsync.clocks", {})
    streams = Table(title="streams", title_justify="left")
    for col in ("stream", "encoding", "size", "frames", "dropped", "clock", "drift ppm", "bound us"):
        streams.add_column(col, no_wrap=True)
    for s in summary.streams:
        key = f"{s.device}/{s.stream}"
        dropped = "-"
        d = _field(_json(stats.get(key)), "dropped")
        if isinstance(d, dict):
            dropped = ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "0"
        c = _json(clocks.get(s.device))
        clock = str(_field(c, "domain") or "-")
        drift = _num(_field(c, "drift_ppm"), "+.2f")
        bound = _num(_field(c, "error_bound_ns"), ".1f", 1000) if drift != "-" else "-"
        row(streams, key, s.encoding, f"{s.width}x{s.height}", f"{s.message_count:,}", dropped, clock, drift, bound)
    tables = [head, streams]
    hosts_json = _json(stats.get("hosts"))
    if isinstance(hosts_json, list):
        hosts = Table(title="hosts (at the end of the capture)", title_justify="left")
        for col in ("host", "clock", "port", "offset", "bound", "steps", "level"):
            hosts.add_column(col, no_wrap=True)
        for h in hosts_json:
            mode = _field(h, "mode")
            clock = str(_field(h, "role")) + (f" ({mode})" if mode else "")
            offset, bound, steps = _field(h, "offset_ns"), _field(h, "bound_ns"), _field(h, "steps")
            row(hosts, str(_field(h, "host")), clock, str(_field(h, "port_state") or "-"),
                _ns(offset) if isinstance(offset, int) else "-", _ns(bound) if isinstance(bound, int) else "-",
                str(steps) if isinstance(steps, int) else "0", f"{_field(h, 'level')}: {_field(h, 'reason')}")
        tables.append(hosts)
    links_json = _json(stats.get("links"))
    if isinstance(links_json, list):
        links = Table(title="host links (totals of the capture)", title_justify="left")
        for col in ("host", "link", "frames", "MB", "frames/s", "MB/s", "sent", "spilled", "dropped", "malformed"):
            links.add_column(col, no_wrap=True)
        for h in links_json:
            row(links, str(_field(h, "host")), str(_field(h, "state")), _num(_field(h, "frames_received"), ",.0f"),
                _num(_field(h, "bytes_received"), ",.1f", 1e6), _num(_field(h, "mean_frames_per_s"), ",.1f"),
                _num(_field(h, "mean_mb_per_s"), ",.1f"),
                *(_num(_field(h, k), ",.0f") for k in ("frames_sent", "frames_spilled", "frames_dropped", "malformed")))
        tables.append(links)
    start = _json(stats.get("scheduled_start"))
    late_ns = _field(start, "late_ns")
    if isinstance(late_ns, dict):
        late = ", ".join(f"{d} {_num(ns, '.1f', 1e6)} ms" for d, ns in sorted(late_ns.items())) or "none"
        row(head, "scheduled start", f"rig time {_field(start, 'rig_ns')} ns; late: {late}")
    return tables
