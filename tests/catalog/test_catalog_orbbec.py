"""Orbbec Femto Bolt and Gemini 2 facts from seed 002 and Orbbec documentation."""

from __future__ import annotations

from rigsync.catalog import get_model
from rigsync.catalog.base import DepthTech
from rigsync.core.frame import StreamKind
from rigsync.core.sync import SyncMethod, Topology

BOLT = get_model("orbbec-femto-bolt")
GEMINI = get_model("orbbec-gemini-2")
KINECT = get_model("azure-kinect-dk")


def test_femto_bolt_is_tof_with_the_kinect_laser_timing() -> None:
    """The Femto Bolt shares the Kinect's ToF sensor; its laser timing reuses the Kinect table with a note."""
    assert BOLT.depth_tech is DepthTech.TOF
    for timing in KINECT.laser:
        bolt = BOLT.laser_for(timing.depth_mode)
        assert bolt is not None
        assert bolt.exposure_us == timing.exposure_us
    assert any("Kinect" in n and "assumption" in n for n in BOLT.notes)


def test_femto_bolt_adds_25fps_depth() -> None:
    """Femto Bolt depth runs at 5/15/25/30 fps (its hardware specification), unlike the Kinect."""
    mode = BOLT.mode(StreamKind.DEPTH, 640, 576)
    assert mode is not None and mode.name == "NFOV_UNBINNED" and mode.supports_fps(25)


def test_gemini_2_is_active_stereo() -> None:
    """The Gemini 2 computes depth by active IR stereo, with no laser timing to stagger."""
    assert GEMINI.depth_tech is DepthTech.ACTIVE_STEREO
    assert GEMINI.laser == ()


def test_sync_roles_use_orbbec_mode_names() -> None:
    """Roles are OrbbecSDK multi-device sync mode names (seed 002 and the sync example docs)."""
    assert {"PRIMARY", "SECONDARY"} <= set(BOLT.sync.roles)
    assert {"PRIMARY", "SECONDARY_SYNCED", "SOFTWARE_TRIGGERING", "HARDWARE_TRIGGERING"} <= set(GEMINI.sync.roles)


def test_sync_ports_are_1v8() -> None:
    """Orbbec sync inputs are 1.8 V CMOS and take a 100 us positive pulse (FemtoSeries.md)."""
    for model in (BOLT, GEMINI):
        port = next(p for p in model.sync.ports if p.direction == "in")
        assert port.level_v == 1.8
        assert port.min_pulse_us == 100.0


def test_hub_limits() -> None:
    """A sync hub takes one primary and up to eight secondaries in a star."""
    for model in (BOLT, GEMINI):
        assert SyncMethod.HARDWARE in model.sync.methods
        assert model.sync.max_subordinates_for(Topology.STAR) == 8
