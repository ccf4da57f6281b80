"""Every example rig, captured with ``rigsync capture --fast`` and checked against the simulator's truth.

The checker below knows only the documented recording contract (docs/recording.md): it reads the MCAP with
the plain ``mcap`` library, the frameset and truth channels as JSON, and the rig file from the ``rigsync``
metadata. It does not use rigsync's reader.
"""

from __future__ import annotations

import json
import tomllib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from mcap.reader import make_reader

from rigsync.cli.main import main

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))


@dataclass
class Recording:
    rig: dict[str, Any]
    framesets: list[dict[str, Any]] = field(default_factory=list)
    truth: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    images: dict[str, int] = field(default_factory=lambda: defaultdict(int))


def read_contract(path: Path) -> Recording:
    with path.open("rb") as f:
        reader = make_reader(f)
        meta = {m.name: m.metadata for m in reader.iter_metadata()}
        rec = Recording(rig=tomllib.loads(meta["rigsync"]["rig_toml"]))
        for _, channel, message in reader.iter_messages():
            topic = channel.topic
            if topic == "/rigsync/framesets":
                rec.framesets.append(json.loads(message.data))
            elif topic == "/rigsync/sim/truth":
                t = json.loads(message.data)
                rec.truth[(t["device"], t["stream"], t["seq"])] = t
            elif topic.endswith("/image"):
                rec.images[topic] += 1
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


@dataclass
class Verdict:
    framesets: int
    mixed_trigger: int
    no_common_instant: int
    frames_arrived: int
    frames_in_sets: int
    triggered_members: int


def check(rec: Recording) -> Verdict:
    offsets = declared_offsets(rec.rig)
    starts: dict[tuple[str, str], list[int]] = defaultdict(list)
    for (dev, stream, _), t in rec.truth.items():
        starts[(dev, stream)].append(t["exposure_start_ns"])
    # A stream's own period, as it really ran (Genlock streams run at their trigger's rate).
    period = {k: float(np.median(np.diff(sorted(v)))) for k, v in starts.items() if len(v) > 2}
    mixed = no_instant = triggered = 0
    in_sets: set[tuple[str, str, int]] = set()
    for fs in rec.framesets:
        triggers: dict[str, set[str]] = defaultdict(set)
        lo, hi = -1e30, 1e30
        for m in fs["members"]:
            key = (m["device"], m["stream"], m["seq"])
            assert key not in in_sets, f"frame {key} used twice"
            in_sets.add(key)
            t = rec.truth[key]
            ref = t["exposure_start_ns"]
            if t["trigger_id"] is not None:
                group, _ = t["trigger_id"].split("/")
                triggers[group].add(t["trigger_id"])
                ref -= offsets.get((m["device"], m["stream"]), 0)
                triggered += 1
            p = period[(m["device"], m["stream"])]
            lo, hi = max(lo, ref - p / 2), min(hi, ref + p / 2)
        mixed += any(len(ids) > 1 for ids in triggers.values())
        no_instant += lo > hi
    arrived = sum(rec.images.values())
    # Every delivered frame after the warm-up is recorded, and only those.
    first_recorded: dict[tuple[str, str], int] = {}
    for fs in rec.framesets:
        for m in fs["members"]:
            key = (m["device"], m["stream"])
            start = rec.truth[(m["device"], m["stream"], m["seq"])]["exposure_start_ns"]
            first_recorded[key] = min(first_recorded.get(key, start), start)
    delivered = sum(1 for (d, s, _), t in rec.truth.items()
                    if t["delivered"] and t["exposure_start_ns"] >= first_recorded.get((d, s), 1 << 62))
    assert arrived >= delivered >= 0.99 * arrived
    return Verdict(len(rec.framesets), mixed, no_instant, arrived, len(in_sets), triggered)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_capture_matches_truth(path: Path, tmp_path: Path) -> None:
    """Triggered groups: every frameset holds a single trigger per group; every frameset is a set of nearest
    frames; >= 99% of arrived frames are in a frameset."""
    out = tmp_path / f"{path.stem}.mcap"
    assert main(["capture", str(path), "--seconds", "3", "--fast", "--quiet", "--out", str(out)]) == 0
    verdict = check(read_contract(out))
    assert verdict.framesets > 60
    assert verdict.mixed_trigger == 0
    assert verdict.no_common_instant == 0
    assert verdict.frames_in_sets >= 0.99 * verdict.frames_arrived
    rig = read_contract(out).rig
    models = {d["id"]: d["model"] for d in rig["devices"]}
    # Trigger ids come from trigger lines and PTP schedules (PTP cameras); ZEDs on PTP hosts free-run.
    uses_triggers = any(g["method"] in ("hardware", "genlock") or (
        g["method"] == "ptp" and any(models[m["device"]].startswith("gige") for m in g["members"]))
        for g in rig.get("sync", []))
    assert (verdict.triggered_members > 0) == uses_triggers


def test_checker_catches_a_wrong_frameset(tmp_path: Path) -> None:
    """The checker is not blind: a frameset whose members come from different triggers is reported."""
    out = tmp_path / "k.mcap"
    assert main(["capture", str(EXAMPLES[0].parent / "kinect_star.toml"), "--seconds", "1", "--fast", "--quiet",
                 "--out", str(out)]) == 0
    rec = read_contract(out)
    a, b = rec.framesets[10], rec.framesets[11]
    a["members"][0], b["members"][0] = b["members"][0], a["members"][0]
    verdict = check(rec)
    assert verdict.mixed_trigger == 2
