"""Every example rig, captured with ``rigsync capture --fast`` and checked against the simulator's truth.

The checker below knows only the documented recording contract (docs/recording.md), through the independent
reader of ``conftest.py`` (the plain ``mcap`` library). It does not use rigsync's reader.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from tests.capture.frameset_times import frameset_times
from tests.record.schema_check import schema_problems

from rigsync.cli.main import main

EXAMPLES = sorted((Path(__file__).parents[2] / "examples").glob("*.toml"))


@dataclass
class Verdict:
    framesets: int
    mixed_trigger: int
    no_common_instant: int
    frames_arrived: int
    frames_in_sets: int
    triggered_members: int


def check(rec: Any, offsets: dict[tuple[str, str], int]) -> Verdict:
    truth = rec.truth_by_seq()
    starts: dict[tuple[str, str], list[int]] = defaultdict(list)
    for (dev, stream, _), t in truth.items():
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
            t = truth[key]
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
            start = truth[(m["device"], m["stream"], m["seq"])]["exposure_start_ns"]
            first_recorded[key] = min(first_recorded.get(key, start), start)
    delivered = sum(1 for (d, s, _), t in truth.items()
                    if t["delivered"] and t["exposure_start_ns"] >= first_recorded.get((d, s), 1 << 62))
    assert arrived >= delivered >= 0.99 * arrived
    return Verdict(len(rec.framesets), mixed, no_instant, arrived, len(in_sets), triggered)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_capture_matches_truth(path: Path, tmp_path: Path, contract: SimpleNamespace) -> None:
    """Triggered groups: every frameset holds a single trigger per group; every frameset is a set of nearest
    frames; >= 99% of arrived frames are in a frameset; every frame is accounted for (see conftest.py); every
    frameset's rig_time_ns and spread_ns are what docs/recording.md says of its members and the declared delays;
    every channel has its schema and every JSON message validates against it."""
    out = tmp_path / f"{path.stem}.mcap"
    assert main(["capture", str(path), "--seconds", "3", "--fast", "--quiet", "--out", str(out)]) == 0
    rec = contract.read(out)
    verdict = check(rec, contract.offsets(rec.rig))
    ledger = contract.ledger(rec)
    assert not ledger.problems, "\n".join(ledger.problems[:20])
    assert verdict.framesets > 60
    assert verdict.mixed_trigger == 0
    assert verdict.no_common_instant == 0
    assert verdict.frames_in_sets >= 0.99 * verdict.frames_arrived
    times = frameset_times(out)
    assert times.problems == [] and times.checked >= 0.95 * verdict.framesets
    assert (times.moved_by_offsets > 0) == any(times.offsets.values())  # the declared delays count
    assert schema_problems(out) == []
    rig = rec.rig
    models = {d["id"]: d["model"] for d in rig["devices"]}
    # Trigger ids come from trigger lines and PTP schedules (PTP cameras); ZEDs on PTP hosts free-run.
    uses_triggers = any(g["method"] in ("hardware", "genlock") or (
        g["method"] == "ptp" and any(models[m["device"]].startswith("gige") for m in g["members"]))
        for g in rig.get("sync", []))
    assert (verdict.triggered_members > 0) == uses_triggers


def test_checker_catches_a_wrong_frameset(tmp_path: Path, contract: SimpleNamespace) -> None:
    """The checker is not blind: a frameset whose members come from different triggers is reported."""
    out = tmp_path / "k.mcap"
    assert main(["capture", str(EXAMPLES[0].parent / "kinect_star.toml"), "--seconds", "1", "--fast", "--quiet",
                 "--out", str(out)]) == 0
    rec = contract.read(out)
    a, b = rec.framesets[10], rec.framesets[11]
    a["members"][0], b["members"][0] = b["members"][0], a["members"][0]
    verdict = check(rec, contract.offsets(rec.rig))
    assert verdict.mixed_trigger == 2
