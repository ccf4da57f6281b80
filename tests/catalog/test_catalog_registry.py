"""The catalog registry: keys, lookup and its error."""

from __future__ import annotations

import pytest

from rigsync.catalog import UnknownModelError, all_models, get_model, model_keys
from rigsync.core.errors import RigsyncError

EXPECTED_KEYS = {
    "zed", "zed-mini", "zed-2", "zed-2i",
    "zed-x", "zed-x-mini", "zed-x-nano", "zed-x-one-s", "zed-x-one-gs", "zed-x-one-4k",
    "azure-kinect-dk", "orbbec-femto-bolt", "orbbec-gemini-2",
    "realsense-d415", "realsense-d435", "realsense-d435i",
    "gige-ptp-area-scan", "uvc-webcam",
}


def test_keys_are_unique() -> None:
    """No two catalogued models share a key."""
    keys = model_keys()
    assert len(keys) == len(set(keys))


def test_expected_models_are_catalogued() -> None:
    """Every model the catalog promises is present, and nothing else."""
    assert set(model_keys()) == EXPECTED_KEYS


@pytest.mark.parametrize("key", sorted(EXPECTED_KEYS))
def test_every_key_resolves_to_its_model(key: str) -> None:
    """get_model returns the model whose key was asked for."""
    assert get_model(key).key == key


def test_model_keys_follow_all_models() -> None:
    """model_keys lists the keys of all_models in the same order."""
    assert model_keys() == tuple(m.key for m in all_models())


def test_unknown_key_error_lists_valid_keys() -> None:
    """An unknown key raises a KeyError whose message names the key and every valid key."""
    with pytest.raises(KeyError) as info:
        get_model("kinect-v3")
    message = str(info.value)
    assert "kinect-v3" in message
    for key in model_keys():
        assert key in message


def test_unknown_key_error_is_a_rigsync_error_with_fields() -> None:
    """The lookup error is a RigsyncError carrying the bad key and the valid keys."""
    with pytest.raises(UnknownModelError) as info:
        get_model("")
    assert isinstance(info.value, RigsyncError)
    assert info.value.key == ""
    assert info.value.valid == model_keys()
