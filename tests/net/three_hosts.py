"""The three_hosts_ptp.toml example captured from a station through three agents: the recording held to its truth
channel, and its scheduled start (``--start-at``) against the true exposures of every host's devices. Shared by the
loopback test (tests/net/test_station.py) and the namespace test with linuxptp (tests/net/test_three_hosts_ptp.py).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from tests.capture.conftest import account, check_stats, declared_offsets, read_contract
from tests.net.test_agent import assert_kinects_paired

from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.spec import load_rig

THREE_HOSTS = Path(__file__).parents[2] / "examples" / "three_hosts_ptp.toml"
HOSTS = ("gm", "kin", "vis")


def check_three_hosts_recording(out: Path, min_frames: int) -> int:
    """The recording of every host's devices, held to its own truth channel by the single-host examples' checker
    (every exposed frame accounted for, every missing entry with its cause, the statistics reason by reason), every
    delivered frame recorded, every stamp its true exposure within its bound, k0/k1 paired by trigger id; and the
    scheduled start honoured on every host: nobody late, the armed PTP camera's first exposure at the start (1 us),
    every other stream's first recorded frame its first exposure at or after the start (the one before it was
    exposed before the start), within one frame period. Returns the scheduled start (rig ns)."""
    rec = read_contract(out)
    rig = load_rig(THREE_HOSTS)
    truth: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for t in rec.truth:
        truth.setdefault((t["device"], t["stream"]), []).append(t)
    assert set(truth) == {(d.id, s.name) for d in rig.devices for s in d.streams}
    ledger = account(rec, declared_offsets(rec.rig))
    problems = ledger.problems + check_stats(rec, ledger)
    assert problems == [], problems
    fates = Counter(f.fate for f in ledger.frames)
    assert set(fates) <= {"member", "image", "warmup"}, fates  # every delivered frame recorded: none lost
    by_key = {(t["device"], t["stream"], t["seq"]): t for t in rec.truth}
    reference = SimWorld(rig, build_plan(rig)).reference  # true time -> rig time

    def true_rig_ns(device: str, stream: str, seq: int) -> int:
        return int(reference.ns(by_key[(device, stream, seq)]["exposure_start_ns"]))

    for f in rec.frames:
        assert abs(f["rig_time_ns"] - true_rig_ns(f["device"], f["stream"], f["seq"])) <= f["error_bound_ns"], f
    start = rec.stats["scheduled_start"]
    assert start["late_ns"] == {}
    start_ns = int(start["rig_ns"])
    periods = {(d.id, s.name): s.period_ns for d in rig.devices for s in d.streams}
    for key in truth:
        frames = sorted((f for f in rec.frames if (f["device"], f["stream"]) == key), key=lambda f: f["seq"])
        assert len(frames) >= min_frames, key
        first = frames[0]
        first_ns, bound = true_rig_ns(*key, first["seq"]), first["error_bound_ns"]
        assert start_ns - bound <= first_ns < start_ns + periods[key] + bound, (key, first_ns - start_ns)
        if first["seq"] > 0:
            assert true_rig_ns(*key, first["seq"] - 1) < start_ns + bound, key
    cam = min(t["seq"] for t in truth[("cam", "color")])
    assert cam == 0 and abs(true_rig_ns("cam", "color", 0) - start_ns) < 1_000  # armed: exposed at the start
    assert_kinects_paired(rec, by_key, min_frames)
    return start_ns
