"""Consistency of every catalogued model: modes, formats, fields of view, clocks and sync facts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rigsync.catalog import all_models
from rigsync.catalog.base import CameraModel, DepthTech, StreamMode
from rigsync.core.frame import StreamKind
from rigsync.core.sync import SyncMethod, Topology

MODELS = all_models()
RECORDED_ENCODINGS = {"rgb8", "bgr8", "16UC1", "mono8", "mono16"}


def _ids(model: CameraModel) -> str:
    return model.key


@pytest.mark.parametrize("model", MODELS, ids=_ids)
def test_model_has_modes_for_each_kind(model: CameraModel) -> None:
    """Every model offers at least one stream kind, and each kind has at least one mode."""
    assert model.kinds()
    for kind in model.kinds():
        assert model.modes_for(kind)


@pytest.mark.parametrize("model", MODELS, ids=_ids)
def test_modes_have_rates_and_known_formats(model: CameraModel) -> None:
    """Each mode has positive rates (discrete or a range) and only formats the model defines."""
    names = {f.name for f in model.formats}
    for mode in model.modes:
        assert mode.width > 0 and mode.height > 0
        assert mode.formats
        assert set(mode.formats) <= names, f"{model.key} {mode}"
        if mode.fps_range is None:
            assert mode.fps and all(f > 0 for f in mode.fps)
        else:
            assert not mode.fps
            assert 0 < mode.fps_range[0] <= mode.fps_range[1]


@pytest.mark.parametrize("model", MODELS, ids=_ids)
def test_formats_are_unique_and_recordable(model: CameraModel) -> None:
    """Pixel format names are unique per model and each maps to an encoding rigsync records."""
    names = [f.name for f in model.formats]
    assert len(names) == len(set(names))
    for fmt in model.formats:
        assert fmt.encoding in RECORDED_ENCODINGS
        assert fmt.link_bytes_per_pixel >= 0


@pytest.mark.parametrize("model", MODELS, ids=_ids)
def test_every_kind_has_hfov_and_shutter(model: CameraModel) -> None:
    """Each stream kind has its own horizontal field of view and shutter entry."""
    hfov_kinds = {k for k, _ in model.hfov_deg}
    shutter_kinds = {k for k, _ in model.shutter}
    for kind in model.kinds():
        assert kind in hfov_kinds
        assert kind in shutter_kinds
        assert 0 < model.hfov_for(kind) < 180


@pytest.mark.parametrize("model", MODELS, ids=_ids)
def test_depth_technology_matches_depth_streams(model: CameraModel) -> None:
    """Models with a depth stream name a depth technology; models without one say none."""
    has_depth = StreamKind.DEPTH in model.kinds()
    assert (model.depth_tech is not DepthTech.NONE) == has_depth


@pytest.mark.parametrize("model", MODELS, ids=_ids)
def test_timing_fields_are_sane(model: CameraModel) -> None:
    """Clock, readout and exposure range are positive and ordered."""
    assert model.clock.tick_ns > 0
    assert 1 <= model.clock.width_bits <= 64
    assert model.readout_us > 0
    lo, hi = model.exposure_range_us
    assert 0 < lo < hi


@pytest.mark.parametrize("model", MODELS, ids=_ids)
def test_sync_facts_are_consistent(model: CameraModel) -> None:
    """Synced kinds exist, limits name declared topologies, software sync implies the network topology."""
    sync = model.sync
    assert sync.methods
    assert sync.synced_kinds <= set(model.kinds())
    for topo, count in sync.max_subordinates:
        assert topo in sync.topologies
        assert count > 0
    if SyncMethod.SOFTWARE in sync.methods or SyncMethod.PTP in sync.methods:
        assert Topology.NETWORK in sync.topologies
    if SyncMethod.HARDWARE in sync.methods:
        assert sync.synced_kinds
    if sync.genlock is not None:
        assert SyncMethod.GENLOCK in sync.methods
        assert sync.genlock.synced_kinds <= set(model.kinds())
    for port in sync.ports:
        assert port.direction in ("in", "out")
        assert port.level_v > 0


@pytest.mark.parametrize("model", MODELS, ids=_ids)
def test_host_computed_and_laser_refer_to_real_streams(model: CameraModel) -> None:
    """Host-computed kinds are kinds of the model; laser timings name depth modes of the model."""
    assert model.host_computed <= set(model.kinds())
    depth_names = {m.name for m in model.modes_for(StreamKind.DEPTH)}
    for timing in model.laser:
        assert timing.depth_mode in depth_names
    if model.laser:
        assert model.depth_tech is DepthTech.TOF


@pytest.mark.parametrize("model", MODELS, ids=_ids)
def test_every_model_cites_sources_and_notes(model: CameraModel) -> None:
    """Every model names its sources and records its notes and assumptions."""
    assert model.sources and all(s.strip() for s in model.sources)
    assert model.notes and all(n.strip() for n in model.notes)
    assert model.clock.source and model.sync.source


_ALL_STREAMS = [(m, mode, fmt) for m in MODELS for mode in m.modes for fmt in mode.formats]


@given(st.sampled_from(_ALL_STREAMS), st.floats(min_value=0.5, max_value=300.0))
def test_link_rate_is_frame_bytes_times_rate(stream: tuple[CameraModel, StreamMode, str], fps: float) -> None:
    """The link rate of any stream is its per-frame link bytes times the frame rate, zero if host-computed."""
    model, mode, fmt = stream
    frame = model.link_bytes_per_frame(mode.kind, mode.width, mode.height, fmt)
    assert frame >= 0
    rate = model.link_bytes_per_s(mode.kind, mode.width, mode.height, fmt, fps)
    assert rate == pytest.approx(frame * fps)
    if mode.kind in model.host_computed:
        assert frame == 0
