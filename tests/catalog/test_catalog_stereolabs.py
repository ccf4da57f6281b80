"""StereoLabs ZED facts from seed 000."""

from __future__ import annotations

import pytest

from rigsync.catalog import get_model
from rigsync.catalog.base import Shutter
from rigsync.core.frame import ClockDomain, StreamKind, TimestampSemantics
from rigsync.core.sync import LinkKind, SyncMethod, Topology

USB_KEYS = ("zed", "zed-mini", "zed-2", "zed-2i")
GMSL_KEYS = ("zed-x", "zed-x-mini", "zed-x-nano", "zed-x-one-s", "zed-x-one-gs", "zed-x-one-4k")
STEREO_KEYS = (*USB_KEYS, "zed-x", "zed-x-mini", "zed-x-nano")


@pytest.mark.parametrize("key", USB_KEYS)
def test_zed_1080p30_link_rate_matches_seed(key: str) -> None:
    """A USB ZED at HD1080 30 fps puts about 250 MB/s on USB (seed 000), within 5 %."""
    model = get_model(key)
    mode = model.mode(StreamKind.COLOR, 1920, 1080)
    assert mode is not None and mode.name == "HD1080" and mode.supports_fps(30)
    rate = model.link_bytes_per_s(StreamKind.COLOR, 1920, 1080, "bgra8", 30)
    assert rate == pytest.approx(250e6, rel=0.05)


@pytest.mark.parametrize("key", USB_KEYS)
def test_usb_zeds_use_usb_and_software_or_ptp_sync_only(key: str) -> None:
    """USB ZEDs have no hardware trigger: timestamp (software) or PTP sync, no ports (seed 000)."""
    model = get_model(key)
    assert model.link is LinkKind.USB
    assert model.sync.methods == {SyncMethod.SOFTWARE, SyncMethod.PTP}
    assert model.sync.ports == ()


@pytest.mark.parametrize("key", GMSL_KEYS)
def test_gmsl_models_use_the_gmsl_link_and_capture_card_sync(key: str) -> None:
    """ZED X family cameras connect over GMSL2 and are hardware-synced by their capture card (seed 000)."""
    model = get_model(key)
    assert model.link is LinkKind.GMSL
    assert SyncMethod.HARDWARE in model.sync.methods
    assert Topology.CAPTURE_CARD in model.sync.topologies
    assert model.sync.max_subordinates_for(Topology.CAPTURE_CARD) == 8


def test_out_of_production_flags() -> None:
    """ZED and ZED 2 are out of production; the other StereoLabs models are not (seed 000)."""
    assert not get_model("zed").in_production
    assert not get_model("zed-2").in_production
    for key in ("zed-mini", "zed-2i", *GMSL_KEYS):
        assert get_model(key).in_production, key


@pytest.mark.parametrize("key", STEREO_KEYS)
def test_stereo_zed_depth_is_host_computed_with_750mb_gpu(key: str) -> None:
    """ZED depth is computed on the host GPU (no link bytes) and needs 750 MB in NEURAL LIGHT (seed 000)."""
    model = get_model(key)
    assert StreamKind.DEPTH in model.host_computed
    assert model.gpu_memory_mb == 750
    assert model.link_bytes_per_frame(StreamKind.DEPTH, 1920, 1080, "z16") == 0


@pytest.mark.parametrize("key", (*USB_KEYS, *GMSL_KEYS))
def test_zed_timestamps_are_host_clock(key: str) -> None:
    """ZED SDK image timestamps are in the host's system clock (seed 000)."""
    clock = get_model(key).clock
    assert clock.domain is ClockDomain.HOST
    assert clock.semantics_free is TimestampSemantics.HOST_RECEIVE


def test_usb_mode_table_uses_zed_sdk_names() -> None:
    """USB ZED modes carry the SDK names and rates (HD2K 15, HD1080 15/30, HD720 to 60, VGA to 100)."""
    model = get_model("zed-2i")
    names = {m.name: m for m in model.modes_for(StreamKind.COLOR)}
    assert set(names) == {"HD2K", "HD1080", "HD720", "VGA"}
    assert names["HD2K"].fps == (15.0,)
    assert names["VGA"].supports_fps(100)
    assert not names["HD1080"].supports_fps(60)


def test_zed_x_one_models_are_monocular() -> None:
    """ZED X One cameras stream colour only, with no depth technology or GPU depth budget."""
    for key in ("zed-x-one-s", "zed-x-one-gs", "zed-x-one-4k"):
        model = get_model(key)
        assert model.kinds() == (StreamKind.COLOR,)
        assert model.gpu_memory_mb == 0
    assert get_model("zed-x-one-gs").shutter_for(StreamKind.COLOR) is Shutter.GLOBAL
    assert get_model("zed-x-one-4k").mode(StreamKind.COLOR, 3840, 2160) is not None
