"""The recording the 3D exports are tested on, captured once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.export.rig3d import capture_rig3d


@pytest.fixture(scope="session")
def rig3d(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return capture_rig3d(tmp_path_factory.mktemp("rig3d") / "take.mcap")
