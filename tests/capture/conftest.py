"""The recording contract as an independent reader sees it (docs/recording.md), for the end-to-end checkers.

It reads the MCAP with the plain ``mcap`` library: framesets, per-frame stamps, simulator truth and the
statistics as JSON, the rig file from the ``rigsync`` metadata. It does not use rigsync's reader.

The accounting checker holds a recording against the simulator's truth channel: each frame a device exposed is
an image (in a frameset, or named in the stream's drop statistics), a warm-up frame, a frame lost in rigsync's
queues, or a frame that never reached the host; every frame in no frameset is named missing, with the exact
reason, in the frameset nearest its true exposure (one frame per entry); every missing entry of every
frameset has such a cause; and the per-stream statistics equal what the truth says, reason by reason.
"""

from __future__ import annotations

import itertools
import json
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from mcap.records import Channel as McapChannel
from mcap.records import Message as McapMessage
from mcap.records import Metadata as McapMetadata
from mcap.stream_reader import StreamReader

Key = tuple[str, str]


@dataclass
class Recording:
    rig: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)
    """``rigsync.stats``, each value JSON-decoded."""
    framesets: list[dict[str, Any]] = field(default_factory=list)
    frames: list[dict[str, Any]] = field(default_factory=list)
    """``/rigsync/frames``: one per recorded image."""
    truth: list[dict[str, Any]] = field(default_factory=list)
    """``/rigsync/sim/truth`` in file order (seq numbers restart when a device reconnects)."""
    images: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def truth_by_seq(self) -> dict[tuple[str, str, int], dict[str, Any]]:
        """Truth by (device, stream, seq): the latest record of each (for captures without reconnects)."""
        return {(t["device"], t["stream"], t["seq"]): t for t in self.truth}


def read_contract(path: Path) -> Recording:
    """What a recording holds, read with the `mcap` library alone; asserts that a streaming reader sees log times go
    back in file order only where the recorder counted a late message (``file_order_regressions`` in stats).

    One streaming pass over the file (a recording's images are most of its bytes: each pass decompresses them all):
    the messages in file order, the metadata records as they come."""
    meta: dict[str, dict[str, str]] = {}
    topics: dict[int, str] = {}
    times: list[int] = []  # log times in file order, as a streaming reader sees them
    framesets, frames, truth = [], [], []
    images: dict[str, int] = defaultdict(int)
    with path.open("rb") as f:
        for r in StreamReader(f).records:
            if isinstance(r, McapChannel):
                topics[r.id] = r.topic
            elif isinstance(r, McapMessage):
                times.append(r.log_time)
                topic = topics[r.channel_id]
                if topic == "/rigsync/framesets":
                    framesets.append(json.loads(r.data))
                elif topic == "/rigsync/frames":
                    frames.append(json.loads(r.data))
                elif topic == "/rigsync/sim/truth":
                    truth.append(json.loads(r.data))
                elif topic.endswith("/image"):
                    images[topic] += 1
            elif isinstance(r, McapMetadata):
                meta[r.name] = r.metadata
    rec = Recording(rig=tomllib.loads(meta["rigsync"]["rig_toml"]), framesets=framesets, frames=frames, truth=truth,
                    images=images)
    for key, value in meta.get("rigsync.stats", {}).items():
        rec.stats[key] = json.loads(value)
    regressions = sum(1 for a, b in itertools.pairwise(times) if b < a)
    late = json.loads(rec.stats["recorder"]) if isinstance(rec.stats.get("recorder"), str) else rec.stats.get(
        "recorder", {})
    late_messages = late.get("late_messages", 0) if isinstance(late, dict) else 0
    # Every disorder is a late message the recorder counted (a frame past its allowance, a rig clock step).
    assert regressions <= late_messages and (regressions == 0) == (late_messages == 0), (
        f"{path}: {regressions} log-time regressions in file order, {late_messages} late messages counted")
    rec.stats["file_order_regressions"] = regressions
    return rec


def declared_offsets(rig: dict[str, Any]) -> dict[tuple[str, str], int]:
    """Per (device, stream): the capture delay the rig file declares (delay + stagger slot [+ depth delay])."""
    offsets: dict[tuple[str, str], int] = {}
    for group in rig.get("sync", []):
        stagger = group.get("stagger_us", 0.0)
        for i, m in enumerate(group["members"]):
            dev = next(d for d in rig["devices"] if d["id"] == m["device"])
            for s in dev["streams"]:
                name = s.get("name", s["kind"])
                extra = m.get("depth_delay_us", 0.0) if s["kind"] != "color" else 0.0
                offsets[(dev["id"], name)] = round((m.get("delay_us", 0.0) + i * stagger + extra) * 1000)
    return offsets


# --- accounting: the recording held against the truth -----------------------------------------


@dataclass
class Frame:
    """One exposure of one stream, as the truth knows it and as the recording shows it."""

    key: Key
    epoch: int
    seq: int
    ref_ns: int
    """True start of exposure minus the stream's declared delay."""
    delivered: bool
    lost: str | None
    recorded: dict[str, Any] | None = None
    """Its ``/rigsync/frames`` record, if it was recorded."""
    in_set: int | None = None
    fate: str = ""
    """What the recording says of it: member, image (recorded, in no set), warmup, overrun, lost."""


@dataclass
class Ledger:
    frames: list[Frame]
    problems: list[str] = field(default_factory=list)
    expected_stats: dict[Key, dict[str, Counter[str]]] = field(default_factory=dict)


def account(rec: Any, offsets: dict[Key, int]) -> Ledger:
    """Hold the recording against the truth. Returns every frame with its fate, and every problem found."""
    frames, by_stream = _frames(rec, offsets)
    ledger = Ledger(frames)
    problems = ledger.problems
    periods = {k: float(np.median(np.diff([f.ref_ns for f in fs if f.epoch == fs[-1].epoch] or [0, 1])))
               for k, fs in by_stream.items() if len(fs) > 2}
    half = min(periods.values()) / 2
    recorded = {(r["device"], r["stream"], r["seq"], r["rig_time_ns"]): r for r in rec.frames}
    by_record = {id(f.recorded): f for f in frames if f.recorded is not None}
    # Framesets: their members (as truth frames), their true centres, their missing entries.
    centres: list[float | None] = []
    centre_bounds: list[int] = []  # how far rigsync's idea of a centre may lie from the true one
    members: list[set[Key]] = []
    missing: list[dict[Key, str]] = []
    for n, fs in enumerate(rec.framesets):
        refs = []
        keys: set[Key] = set()
        bound = 0
        for m in fs["members"]:
            r = recorded.get((m["device"], m["stream"], m["seq"], m["rig_time_ns"]))
            if r is None:
                problems.append(f"frameset {fs['frameset_id']}: member {m['device']}/{m['stream']} #{m['seq']} "
                                "has no /rigsync/frames record")
                continue
            f = by_record[id(r)]
            if f.in_set is not None:
                problems.append(f"{f.key} #{f.seq} is in two framesets")
            f.in_set = n
            refs.append(f.ref_ns)
            keys.add(f.key)
            bound = max(bound, r["error_bound_ns"])
        if not refs and "centre_ns" in fs:  # every member left out of this view of the recording (test_rejoin's
            refs, bound = [fs["centre_ns"]], fs["centre_bound_ns"]  # only()): their centre, from their stamps
        centres.append((min(refs) + max(refs)) / 2 if refs else None)
        centre_bounds.append(bound)
        members.append(keys)
        missing.append({(m["device"], m["stream"]): m["reason"] for m in fs["missing"]})
    first_set = min((c for c in centres if c is not None), default=0.0)
    last_set = max((c for c in centres if c is not None), default=0.0)
    claimed: set[tuple[int, Key]] = set()
    for key, fs in by_stream.items():
        stats: dict[str, Counter[str]] = {"dropped": Counter(), "missing": Counter(), "count": Counter()}
        ledger.expected_stats[key] = stats
        epochs = sorted({f.epoch for f in fs})
        # A connection ended by a disconnect (every one but the last, and the last if its device went away):
        # frames after its last delivered one are named disconnected; otherwise (the capture ended) stopped.
        ended_by_disconnect = {e for e in epochs if e != epochs[-1] or _gone(fs, e)}
        own_bound = max((f.recorded["error_bound_ns"] for f in fs if f.recorded is not None), default=0)
        for f in fs:
            same = [g for g in fs if g.epoch == f.epoch]
            delivered_after = any(g.delivered for g in same if g.seq > f.seq)
            delivered_before = any(g.delivered for g in same if g.seq < f.seq)
            if f.in_set is not None:
                f.fate = "member"
                stats["count"]["matched"] += 1
                stats["count"]["frames"] += 1
                continue
            if f.recorded is not None:
                f.fate = "image"  # recorded, in no set: its drop reason is in the stats
                stats["count"]["frames"] += 1
                stats["count"]["loose"] += 1
                expect = "corrupt" if "corrupt" in f.recorded["flags"] else "not_received"
            elif f.delivered:
                first = min((g.ref_ns for g in fs if g.recorded is not None), default=None)
                if f.epoch == epochs[0] and (first is None or f.ref_ns < first):
                    f.fate = "warmup"
                    stats["dropped"]["warmup"] += 1
                    continue
                f.fate = "overrun"
                stats["count"]["overrun"] += 1
                expect = "dropped"
            else:
                f.fate = "lost"
                if delivered_before and delivered_after:
                    stats["dropped"]["device"] += 1  # the device's frame counter shows it
                expect = str(f.lost)
                if not delivered_after:  # nothing after it told the host what happened
                    expect = "disconnected" if f.epoch in ended_by_disconnect else "stopped"
                elif not delivered_before and f.epoch != epochs[0]:
                    expect = "disconnected"  # restarting after a reconnect
            # The frameset nearest its true exposure, among those without its stream, must name it; a frame on
            # the boundary between two sets (equidistant to within what rigsync cannot know: the stamps' bounds of
            # the set's members and of the stream) may be named by either.
            near = sorted((abs(c - f.ref_ns), n, centre_bounds[n] + own_bound) for n, c in enumerate(centres)
                          if c is not None and key not in members[n]
                          and abs(c - f.ref_ns) <= half + centre_bounds[n] + own_bound)
            if not near:
                if first_set - half <= f.ref_ns <= last_set + half:
                    problems.append(f"{key} #{f.seq} ({f.fate}, {f.lost}) at {f.ref_ns} is named by no frameset")
                continue
            either = [n for d, n, tol in near if d <= near[0][0] + 2 * max(tol, near[0][2])]
            n = next((m for m in either if missing[m].get(key) == expect and (m, key) not in claimed), near[0][1])
            got = missing[n].get(key)
            if got is None and f.fate == "image" and f.epoch == epochs[0] and not any(
                    g.delivered and g.fate != "warmup" for g in same if g.seq < f.seq):
                # The stream's first frame (or its first after warm-up frames, under a scheduled start: none was
                # recorded), late for a set that left before anything of the stream had arrived (a set lists only
                # started streams as missing): no set can name it; the stats count its drop (late).
                continue
            if got != expect or (n, key) in claimed:
                problems.append(f"{key} #{f.seq} ({f.fate}, {f.lost}): frameset {rec.framesets[n]['frameset_id']} "
                                f"says {got!r}{' (already claimed)' if (n, key) in claimed else ''}, "
                                f"expected {expect!r}")
            claimed.add((n, key))
            stats["missing"][expect] += 1
    # Every missing entry has a cause: a frame claimed it, a frame in another set, a reconnecting device, or a
    # device stopped (or away) at the end of the capture.
    gone = {key for key, fs in by_stream.items() if _gone(fs, fs[-1].epoch)}
    for n, entries in enumerate(missing):
        for key, reason in entries.items():
            if (n, key) in claimed:
                continue
            c = centres[n]
            if key not in by_stream:
                problems.append(f"frameset {rec.framesets[n]['frameset_id']} lists {key}, which has no truth")
                continue
            fs = by_stream[key]
            near = [f for f in fs if c is not None and abs(f.ref_ns - c) <= half]
            stats = ledger.expected_stats[key]
            # unmatched: its frame for this moment is in another set (within half a period of the centre, to
            # within the stamp's error bound: frames half a period away sit on the boundary)
            elsewhere = [f for f in fs if f.in_set is not None and f.recorded is not None and c is not None
                         and abs(f.ref_ns - c) <= half + f.recorded["error_bound_ns"]]
            if reason == "unmatched" and elsewhere:
                stats["missing"]["unmatched"] += 1
            elif reason == "disconnected" and _restarting(fs, c) and not [
                    f for f in near if f.recorded is None or abs(f.ref_ns - c) < half - f.recorded["error_bound_ns"]]:
                stats["missing"]["disconnected"] += 1  # (its first frame back may sit on the boundary, as above)
            elif reason in ("stopped", "disconnected") and not near and c is not None and fs and c > fs[-1].ref_ns \
                    and (reason == "disconnected") == (key in gone):
                stats["missing"][reason] += 1  # the capture was ending (the device stopped, or was away)
            else:
                problems.append(f"frameset {rec.framesets[n]['frameset_id']} lists {key} {reason!r} without a cause "
                                f"(frames near it: {[(f.seq, f.fate) for f in near]})")
    return ledger


def _frames(rec: Any, offsets: dict[Key, int]) -> tuple[list[Frame], dict[Key, list[Frame]]]:
    """Truth frames per stream, split into connections (a reconnect restarts the frame counter), with their
    ``/rigsync/frames`` records attached."""
    by_stream: dict[Key, list[Frame]] = defaultdict(list)
    for t in sorted(rec.truth, key=lambda t: t["exposure_start_ns"]):
        key = (t["device"], t["stream"])
        fs = by_stream[key]
        epoch = fs[-1].epoch + (t["seq"] <= fs[-1].seq) if fs else 0
        fs.append(Frame(key, epoch, t["seq"], t["exposure_start_ns"] - offsets.get(key, 0), t["delivered"],
                        t.get("lost")))
    records: dict[Key, list[dict[str, Any]]] = defaultdict(list)
    for r in sorted(rec.frames, key=lambda r: r["rig_time_ns"]):
        records[(r["device"], r["stream"])].append(r)
    for key, rs in records.items():
        fs = by_stream[key]
        epoch, last = 0, -1
        for r in rs:
            if r["seq"] <= last:  # the counter restarted: the next connection that delivered this frame
                epoch = next(f.epoch for f in fs if f.epoch > epoch and f.seq == r["seq"] and f.delivered)
            last = r["seq"]
            # The frame of this number nearest its stamp, in this connection or a later one (the first record may
            # come from a later connection than the truth's first: a device that went away during the warm-up).
            ref = r["rig_time_ns"] - offsets.get(key, 0)
            f = min((f for f in fs if f.epoch >= epoch and f.seq == r["seq"] and f.delivered),
                    key=lambda f: abs(f.ref_ns - ref), default=None)
            assert f is not None and f.recorded is None, f"{key} #{r['seq']}: recorded, not in the truth"
            f.recorded = r
            epoch = f.epoch
    return [f for fs in by_stream.values() for f in fs], by_stream


def _gone(fs: list[Frame], epoch: int) -> bool:
    """The connection ended with its device disconnected: a frame after its last delivered one was lost so."""
    same = [f for f in fs if f.epoch == epoch]
    last = max((f.seq for f in same if f.delivered), default=-1)
    return any(f.lost == "disconnected" for f in same if f.seq > last)


def _restarting(fs: list[Frame], centre: float | None) -> bool:
    """The stream had no frame there because its device was disconnected before its first frame, or was coming
    back from a disconnect: the moment lies before the stream's first delivered frame and its device went away
    before it, or between the last frame of one connection and the first delivered frame of the next."""
    if centre is None:
        return False
    first = next((n for n, f in enumerate(fs) if f.delivered), len(fs))
    if (first == len(fs) or centre < fs[first].ref_ns) and any(f.lost == "disconnected" for f in fs[:first]):
        return True
    for a, b in itertools.pairwise(fs):
        if b.epoch != a.epoch and a.ref_ns < centre:
            first = next((f.ref_ns for f in fs if f.epoch == b.epoch and f.delivered), None)
            if first is None or centre < first:
                return True
    return False


def check_stats(rec: Any, ledger: Ledger) -> list[str]:
    """The per-stream statistics equal the truth's counts, reason by reason."""
    problems = []
    for key, expected in ledger.expected_stats.items():
        got = rec.stats.get(f"{key[0]}/{key[1]}")
        if got is None:
            problems.append(f"no statistics for {key}")
            continue
        dropped = Counter(got["dropped"])
        missing = Counter(got["missing"])
        count = expected["count"]
        loose = sum(dropped[r] for r in ("late", "off_period", "out_of_order", "overflow", "corrupt"))
        checks = {
            "frames": (got["frames"], count["frames"] + dropped["recorder_overrun"]),
            "matched": (got["matched"], count["matched"]),
            "warmup": (dropped["warmup"], expected["dropped"]["warmup"]),
            "device": (dropped["device"], expected["dropped"]["device"]),
            "overruns": (dropped["host_overrun"] + dropped["recorder_overrun"], count["overrun"]),
            "images in no frameset": (loose, count["loose"]),
            "missing": (missing, expected["missing"]),
        }
        for what, (have, want) in checks.items():
            if have != want:
                problems.append(f"{key} {what}: statistics say {have}, the truth {want}")
    return problems



def ledger_of(rec: Recording) -> Ledger:
    """Account for every frame of a recording's truth (as read by :func:`read_contract`) and hold its statistics
    to it; the ledger lists every problem found."""
    ledger = account(rec, declared_offsets(rec.rig))
    ledger.problems += check_stats(rec, ledger)
    return ledger


def held_to_truth(path: Path) -> Ledger:
    """Read a recording and account for every frame of its truth; the ledger lists every problem found."""
    return ledger_of(read_contract(path))


@pytest.fixture
def contract() -> SimpleNamespace:
    """The independent reader: ``read(path)``, ``offsets(rig)``; ``account(rec, offsets)`` and
    ``check_stats(rec, ledger)`` hold a recording against its truth, ``ledger(rec)`` does both, and
    ``held_to_truth(path)`` all (reading the file)."""
    return SimpleNamespace(read=read_contract, offsets=declared_offsets, account=account, check_stats=check_stats,
                           ledger=ledger_of, held_to_truth=held_to_truth)
