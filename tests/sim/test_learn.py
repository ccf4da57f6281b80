"""A world told a past start of another host's device (a restarted agent's): its own devices then run as in a world
that knew it all along."""

from __future__ import annotations

from pathlib import Path

import pytest

from rigsync.core.errors import RigsyncError
from rigsync.core.truth import FrameTruth
from rigsync.drivers.sim._model import SIM_EPOCH_NS
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.spec import load_rig

TWO_HOSTS = Path(__file__).parent / "data" / "two_hosts.toml"
MS = 1_000_000


def host_b_world(learn_k0_at: int | None, knows_k0: bool) -> list[FrameTruth]:
    """Host b's world: k0 (host a's Kinect master, k1's trigger source) started at 100 ms - told before it happened
    (``knows_k0``) or learned at 1 s (``learn_k0_at``); k1 started at 1.5 s; b's truth up to 3 s."""
    rig = load_rig(TWO_HOSTS)
    world = SimWorld(rig, build_plan(rig), hosts=["b"])
    truth: list[FrameTruth] = []
    world.truth_sink = truth.append
    if knows_k0:
        world.start_device("k0", at_ns=SIM_EPOCH_NS + 100 * MS)
    world.advance_to(SIM_EPOCH_NS + 1_000 * MS)
    if learn_k0_at is not None:
        world.learn("k0", True, learn_k0_at)
    world.start_device("k1", at_ns=SIM_EPOCH_NS + 1_500 * MS)
    world.advance_to(SIM_EPOCH_NS + 3_000 * MS)
    return truth


def test_a_learned_past_start_of_a_trigger_source_gives_the_same_exposures_and_triggers() -> None:
    """k1 (a subordinate on host b, triggered by k0 on host a) in a world that learned k0's start 0.9 s late exposes
    exactly as in the world that knew it: same frames, true exposure times to the nanosecond, trigger ids; without
    it, k1 waits for pulses that never come (no frame)."""
    knew = host_b_world(None, knows_k0=True)
    learned = host_b_world(SIM_EPOCH_NS + 100 * MS, knows_k0=False)
    assert len(knew) > 40 and {t.device for t in knew} == {"k1"}
    assert learned == knew
    assert host_b_world(None, knows_k0=False) == []


def test_a_world_cannot_change_the_past_of_its_own_devices() -> None:
    """Learning a start of a device the world emits is an error naming it."""
    rig = load_rig(TWO_HOSTS)
    world = SimWorld(rig, build_plan(rig), hosts=["b"])
    world.advance_to(SIM_EPOCH_NS + 1_000 * MS)
    with pytest.raises(RigsyncError, match="k1 is emitted by this world: its past cannot be changed"):
        world.learn("k1", True, SIM_EPOCH_NS)
