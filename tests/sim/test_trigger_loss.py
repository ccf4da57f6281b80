"""The simulator's trigger-loss fault: a sync input without pulses does what its vendor documents for its role."""

from __future__ import annotations

from rigsync.core.truth import FrameTruth
from rigsync.drivers.sim.world import SIM_EPOCH_NS, SimWorld
from rigsync.plan import build_plan
from rigsync.spec import loads_rig

S = 1_000_000_000
LOSS = (SIM_EPOCH_NS + 1 * S, SIM_EPOCH_NS + 1 * S + S // 2)

HEAD = """
[sim]
render_width = 16
seed = 2

[[hosts]]
name = "h"
"""


def _device(id: str, model: str, kind: str, fps: int, conn: str) -> str:
    width, height = (1280, 720) if model.startswith("azure") else (848, 480)
    return f"""
[[devices]]
id = "{id}"
model = "{model}"
serial = "{id.upper()}"
host = "h"
connection = "usb:{conn}"
streams = [{{ kind = "{kind}", width = {width}, height = {height}, fps = {fps}, exposure_us = 5000 }}]
"""


def _group(method: str, source: str, members: list[str], topology: str = "star") -> str:
    listed = ", ".join(f'{{ device = "{m}" }}' for m in members)
    return (f'\n[[sync]]\nname = "g"\nmethod = "{method}"\ntopology = "{topology}"\n'
            f'source = {{ device = "{source}" }}\nmembers = [{listed}]\n')


LOST = '\n[[faults]]\nkind = "trigger-loss"\ndevice = "{device}"\nat_s = 1.0\nduration_s = 0.5\n'


def _truth(text: str, seconds: float = 2.0) -> list[FrameTruth]:
    rig = loads_rig(HEAD + text, "loss.toml")
    plan = build_plan(rig)
    world = SimWorld(rig, plan)
    truth: list[FrameTruth] = []
    world.truth_sink = truth.append
    for device_id in plan.start_order:
        world.start_device(device_id)
    world.advance_to(SIM_EPOCH_NS + int(seconds * S))
    return truth


def _in_loss(truth: list[FrameTruth], device: str) -> list[FrameTruth]:
    return [t for t in truth if t.device == device and LOSS[0] <= t.exposure_start_ns < LOSS[1]]


GENLOCK = (_device("m", "realsense-d435", "depth", 30, "c0") + _device("a", "realsense-d435", "depth", 90, "c1")
           + _device("b", "realsense-d435", "depth", 90, "c2") + _group("genlock", "m", ["m", "a", "b"]))


def test_genlock_camera_waits_without_its_trigger() -> None:
    """A Genlock camera "will wait indefinitely for a trigger" (seeds/004): no exposure while its input has none,
    one per trigger again after, each on the same trigger as its peer's; the peer never misses one."""
    truth = _truth(GENLOCK + LOST.format(device="a"))
    assert _in_loss(truth, "a") == []
    assert len(_in_loss(truth, "b")) == 15  # 30 Hz triggers for 0.5 s
    after = [t for t in truth if t.device == "a" and t.exposure_start_ns >= LOSS[1]]
    peer = {t.trigger_id: t.exposure_start_ns for t in truth if t.device == "b"}
    assert len(after) >= 10
    assert all(abs(t.exposure_start_ns - peer[t.trigger_id]) < 2_000 for t in after)
    seqs = [t.seq for t in truth if t.device == "a"]
    assert seqs == list(range(len(seqs)))  # its frame counter skips nothing: it exposed nothing


def test_kinect_subordinate_waits_and_realsense_slave_fires_on_its_own() -> None:
    """A Kinect subordinate shows nothing until it "receives a sync signal" (seeds/001); a RealSense slave "will
    fire on its own" (seeds/004): exposures at its own rate, on no trigger, for the length of the loss."""
    kinects = (_device("k0", "azure-kinect-dk", "color", 30, "c0") + _device("k1", "azure-kinect-dk", "color", 30, "c1")
               + _group("hardware", "k0", ["k0", "k1"]))
    assert _in_loss(_truth(kinects + LOST.format(device="k1")), "k1") == []
    slave = (_device("m", "realsense-d435", "depth", 30, "c0") + _device("s", "realsense-d435", "depth", 30, "c1")
             + _group("hardware", "m", ["m", "s"]))
    own = _in_loss(_truth(slave + LOST.format(device="s")), "s")
    assert len(own) in (15, 16)
    assert all(t.trigger_id is None for t in own)


def test_daisy_chain_loss_reaches_downstream() -> None:
    """A subordinate re-drives its Sync out from its Sync in: in a daisy chain, the devices after one that lost its
    trigger lose it too; the ones before do not."""
    chain = (_device("k0", "azure-kinect-dk", "color", 30, "c0") + _device("k1", "azure-kinect-dk", "color", 30, "c1")
             + _device("k2", "azure-kinect-dk", "color", 30, "c2") + _group("hardware", "k0", ["k0", "k1", "k2"],
                                                                            "daisy-chain"))
    truth = _truth(chain + LOST.format(device="k1"))
    assert _in_loss(truth, "k1") == [] and _in_loss(truth, "k2") == []
    assert len(_in_loss(truth, "k0")) == 15


def test_trigger_loss_needs_a_device_with_a_trigger() -> None:
    """trigger-loss on a group's source device (which takes no trigger) is refused naming the field and the
    devices allowed."""
    import pytest

    from rigsync.core.errors import RigFileError

    with pytest.raises(RigFileError, match=r"faults\[0\]\.device = \"m\": takes no trigger.*allowed: a, b"):
        loads_rig(HEAD + GENLOCK + LOST.format(device="m"), "loss.toml")
