"""The simulator's flashes: each row (rolling shutter) or frame (global shutter) gains the flash light its true
exposure window holds, nothing else changes, and bad flash settings are refused naming the field."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest

from rigsync.catalog import get_model
from rigsync.catalog.rows import line_ns
from rigsync.core.errors import RigFileError
from rigsync.core.frame import Frame, StreamKind
from rigsync.core.truth import FrameTruth
from rigsync.drivers.sim._model import SIM_EPOCH_NS
from rigsync.drivers.sim.flash import FlashLight
from rigsync.drivers.sim.world import SimWorld
from rigsync.plan import build_plan
from rigsync.spec import loads_rig
from rigsync.spec.model import SimFlashSpec

S = 1_000_000_000

RIG = """
[sim]
seed = 4
render_width = 64
{flashes}

[[hosts]]
name = "h"
usb_controllers = [{{ name = "c0" }}]

[[devices]]
id = "k0"
model = "azure-kinect-dk"
serial = "K0"
host = "h"
connection = "usb:c0"
streams = [
  {{ kind = "color", width = 1280, height = 720, fps = 30, exposure_us = 8000 }},
  {{ kind = "depth", width = 640, height = 576, fps = 30 }},
  {{ kind = "ir", width = 640, height = 576, fps = 30 }},
]
"""


def run(flashes: str, seconds: float = 0.8) -> tuple[dict[tuple[str, int], Frame], dict[tuple[str, int], FrameTruth]]:
    """Every frame and truth record of the rig above, run on a virtual clock."""
    rig = loads_rig(RIG.format(flashes=flashes), "flash.toml")
    world = SimWorld(rig, build_plan(rig))
    truth: list[FrameTruth] = []
    world.truth_sink = truth.append
    frames: dict[tuple[str, int], Frame] = {}
    world.start_device("k0")
    t = SIM_EPOCH_NS
    while t < SIM_EPOCH_NS + seconds * S:
        t += 10_000_000
        world.advance_to(t)
        for item in world.take("k0"):
            if isinstance(item, Frame):
                frames[(item.stream, item.seq)] = item
    return frames, {(x.stream, x.seq): x for x in truth}


@pytest.fixture(scope="module")
def plain() -> tuple[dict[tuple[str, int], Frame], dict[tuple[str, int], FrameTruth]]:
    return run("")


def test_row_gain_is_the_flash_fraction_in_each_window() -> None:
    """A global-shutter window holding half the flash gains half its levels; rolling-shutter rows each get
    the share of their own window, row y starting y line times after row 0."""
    light = FlashLight([SimFlashSpec(at_s=0.0095, duration_us=1000, gain=80)], 0)
    gs = light.row_gain(0, 10_000_000, 0.0, 3)
    assert gs is not None and np.allclose(gs, 40.0)
    rs = light.row_gain(0, 10_000_000, 250_000.0, 8)  # row y: [y * 250 us, 10 ms + y * 250 us]
    expected = [80 * min(max(min(10e6 + y * 250e3, 10.5e6) - max(y * 250e3, 9.5e6), 0), 1e6) / 1e6
                for y in range(8)]
    assert rs is not None and np.allclose(rs, expected)
    assert expected[0] == 40.0 and expected[4] == 80.0
    assert light.row_gain(11_000_000, 20_000_000, 0.0, 3) is None


def test_no_flash_in_the_capture_renders_bit_identical(
        plain: tuple[dict[tuple[str, int], Frame], dict[tuple[str, int], FrameTruth]]) -> None:
    """A flash outside the capture changes no pixel of any frame (the feature is off unless a flash is due)."""
    frames, _ = plain
    later, _ = run("flashes = [{ at_s = 100.0 }]")
    assert frames.keys() == later.keys() and len(frames) > 40
    for key, frame in frames.items():
        assert frame.image is not None and later[key].image is not None
        assert np.array_equal(frame.image, later[key].image), key


def test_each_row_gains_the_light_its_true_window_holds(
        plain: tuple[dict[tuple[str, int], Frame], dict[tuple[str, int], FrameTruth]]) -> None:
    """Against the truth: a rolling-shutter colour row gains gain x (its window's share of the flash), a
    global-shutter IR frame its window's share, rounded; frames whose windows miss the flash and depth are
    unchanged."""
    frames, truth = plain
    at_ns, duration_ns, gain = 400_000_000, 25_000_000, 60.0  # longer than the gap between IR windows
    lit, _ = run(f"flashes = [{{ at_s = {at_ns / S}, duration_us = {duration_ns / 1000}, gain = {gain} }}]")
    flash = (SIM_EPOCH_NS + at_ns, SIM_EPOCH_NS + at_ns + duration_ns)
    model = get_model("azure-kinect-dk")
    changed: dict[str, int] = defaultdict(int)
    for (stream, seq), frame in frames.items():
        before, after = frame.image, lit[(stream, seq)].image
        assert before is not None and after is not None
        t = truth[(stream, seq)]
        kind = StreamKind(stream)
        line = line_ns(model, kind, before.shape[0])
        rows = t.exposure_start_ns + line * np.arange(before.shape[0])
        share = np.clip(np.minimum(rows + (t.exposure_end_ns - t.exposure_start_ns), flash[1])
                        - np.maximum(rows, flash[0]), 0, None) / duration_ns
        if kind is StreamKind.DEPTH or not share.any():
            assert np.array_equal(before, after), (stream, seq)
            continue
        changed[stream] += 1
        scale = 257.0 if before.dtype == np.uint16 else 1.0
        full = np.iinfo(before.dtype).max
        expected = np.clip(np.rint(before + (gain * share * scale).reshape((-1,) + (1,) * (before.ndim - 1))),
                           0, full)
        assert np.array_equal(after, expected.astype(before.dtype)), (stream, seq)
        if kind is StreamKind.COLOR:
            assert len(set(np.round(share, 6))) > 2  # rows differ: the rolling shutter is per row
        else:
            assert len(set(share)) == 1  # global shutter: one window for the frame
    assert changed["color"] >= 1 and changed["ir"] >= 1


@pytest.mark.parametrize(("entry", "field", "allowed"), [
    ("{ at_s = -1 }", "sim.flashes[0].at_s", "0 to 1,000,000 s"),
    ("{ at_s = 1, duration_us = 0 }", "sim.flashes[0].duration_us", "more than 0, up to 10,000,000 us"),
    ("{ at_s = 1, gain = 300 }", "sim.flashes[0].gain", "more than 0, up to 255 grey levels"),
    ("{ duration_us = 5 }", "sim.flashes[0].at_s", "required"),
    ("{ at_s = 1, colour = 2 }", "sim.flashes[0].colour", "unknown key"),
])
def test_bad_flash_settings_are_refused_naming_the_field(entry: str, field: str, allowed: str) -> None:
    """Each bad flash setting is a rig-file error naming the file, the field and what is allowed."""
    with pytest.raises(RigFileError) as err:
        loads_rig(RIG.format(flashes=f"flashes = [{entry}]"), "flash.toml")
    assert f"flash.toml: {field}" in str(err.value) and allowed in str(err.value)
