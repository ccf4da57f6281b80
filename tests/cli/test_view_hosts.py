"""The live hosts table and the summary of a capture across hosts: one row per host with its link (state, rates,
the agent's queue and counters as its heartbeat gave them) beside its PTP status; a capture on one host unchanged."""

from __future__ import annotations

from pathlib import Path

from tests.cli.rendered import header, rows, text

from rigsync.capture.options import CaptureResult
from rigsync.capture.status import CaptureStatus
from rigsync.cli.view import hosts_table, result_summary
from rigsync.core.ptp import HostRole, PortState, PtpMode, SyncLevel
from rigsync.net.link import HostLink, LinkStats, local_link
from rigsync.net.messages import Heartbeat
from rigsync.timebase.host import HostSyncStatus

S = 1_000_000_000
SYNC = (HostSyncStatus("a", HostRole.REFERENCE, None, SyncLevel.OK, "the rig's reference clock",
                       port_state=PortState.MASTER, offset_ns=0, bound_ns=0),
        HostSyncStatus("b", HostRole.PTP, PtpMode.DISCIPLINE, SyncLevel.WARN, "offset 6.0 us > warn level 5 us",
                       port_state=PortState.SLAVE, offset_ns=-6_000, mean_path_delay_ns=11_500, bound_ns=13_900))


def _links() -> tuple[HostLink, ...]:
    """a local (60 frames of 1 MB in the last second), b up with a crafted heartbeat, c silent, d never heard."""
    a = local_link("a")
    for i in range(60):
        a.frame(1_000_000, 9 * S + (i + 1) * S // 60)
    b = LinkStats("b")
    for i in range(120):
        b.frame(250_000, 9 * S + (i + 1) * S // 120)
    b.heartbeat(Heartbeat("0.1", "r", "p", "b", 40, 0, 0, queue_depth=17, queue_bytes=51_200_000, frames_sent=1_234,
                          frames_spilled=9, frames_dropped=2), 10 * S - 1)
    c = LinkStats("c")
    c.frame(10, 6 * S + 800_000_000)
    return (a.status(10 * S), b.status(10 * S, malformed=3), c.status(10 * S), LinkStats("d").status(10 * S))


def test_the_live_hosts_table_shows_each_hosts_link_beside_its_ptp_status() -> None:
    """Per host: link state (local, up, silent for how long, never heard), frames/s and MB/s of the last second,
    the agent's queue, spilled/dropped as its last heartbeat gave them, malformed messages; then its PTP status
    (a host without one shows dashes there)."""
    status = CaptureStatus(5.0, None, (), 0, 0, 0.0, 0.0, hosts=SYNC, links=_links())
    table = text(hosts_table(status))
    assert header(table) == ["host", "link", "frames/s", "MB/s", "queue", "spilled/dropped", "malformed", "clock",
                              "port", "offset", "bound", "level"]
    cells = rows(table)
    assert cells["a"] == ["local", "60", "60.0", "-", "-", "-", "reference", "MASTER", "0 ns", "0 ns",
                         "ok the rig's reference clock"]
    assert cells["b"] == ["up", "120", "30.0", "17 (51.2 MB)", "9/2", "3", "ptp (discipline)", "SLAVE", "-6000 ns",
                         "13.9 us", "warn offset 6.0 us > warn level 5 us"]
    assert cells["c"] == ["silent 3.2 s", "0", "0.0", "-", "-", "0", "-", "-", "-", "-", "-"]
    assert cells["d"][:2] == ["never heard", "0"]


def test_a_capture_on_one_host_shows_what_it_showed_before() -> None:
    """No links: no hosts table for one host without PTP; with PTP hosts, the PTP columns only (path delay too)."""
    assert hosts_table(CaptureStatus(1.0, None, (), 0, 0, 0.0, 0.0, hosts=SYNC[:1])) is None
    table = text(hosts_table(CaptureStatus(1.0, None, (), 0, 0, 0.0, 0.0, hosts=SYNC)))
    assert header(table) == ["host", "clock", "port", "offset", "path delay", "bound", "level"]
    assert rows(table)["b"][3] == "11.5 us"


def _result(status: CaptureStatus) -> CaptureResult:
    return CaptureResult(path=Path("x.mcap"), duration_s=2.0, frames=10, framesets=5, complete=5, dropped={},
                         interrupted=False, error=None, status=status)


def test_the_summary_has_a_row_per_host_with_its_totals_agent_counters_and_clock() -> None:
    """A capture across hosts: each host's row gives its link's totals and mean rates, a remote host's agent
    counters, queue and malformed count from its last heartbeat, and its clock level; on one host, no host row."""
    links = _links()
    summary = rows(text(result_summary(_result(CaptureStatus(2.0, 2.0, (), 5, 5, 0.0, 0.0, hosts=SYNC,
                                                                       links=links)))))
    assert summary["host a"] == ["local; 60 frames, 60.0 MB received (60.0 frames/s, 60.0 MB/s); clock ok: the "
                                 "rig's reference clock"]
    assert summary["host b"] == ["up; 120 frames, 30.0 MB received (120.0 frames/s, 30.0 MB/s); agent sent 1,234, "
                                 "spilled 9, dropped 2, queue 17 (51.2 MB); malformed 3; clock warn: offset 6.0 us > "
                                 "warn level 5 us"]
    assert summary["host c"] == ["silent 3.2 s; 1 frames, 0.0 MB received (0.0 frames/s, 0.0 MB/s); no heartbeat; "
                                 "malformed 0"]
    alone = rows(text(result_summary(_result(CaptureStatus(2.0, 2.0, (), 5, 5, 0.0, 0.0, hosts=SYNC[:1])))))
    assert not any(k.startswith("host") for k in alone)
