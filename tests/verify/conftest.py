"""Recordings the verification tests share: each captured once per session on the virtual clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.verify.rigs import GENLOCK, KINECT_STAR, TWO_HOSTS_PTP, capture, fault


@pytest.fixture(scope="session")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("verify")


@pytest.fixture(scope="session")
def genlock(folder: Path) -> Path:
    """A clean Genlock rig, 13 s: long enough for two 5 s spans of locked frames (drift stability)."""
    return capture(GENLOCK, folder / "genlock.mcap", 13)


@pytest.fixture(scope="session")
def genlock_lost(folder: Path) -> Path:
    """rs-a's sync input without pulses from 2.0 s to 2.5 s."""
    return capture(GENLOCK + fault("trigger-loss", 2.0, 0.5, device="rs-a"), folder / "lost.mcap", 4)


@pytest.fixture(scope="session")
def ptp_lost(folder: Path) -> Path:
    """Host b without a PTP master for the whole take."""
    return capture(TWO_HOSTS_PTP + fault("ptp-loss", 0.0, 1000.0, host="b"), folder / "ptp-lost.mcap", 4)


@pytest.fixture(scope="session")
def kinect_ae(folder: Path) -> Path:
    """A triggered Kinect subordinate (k1) under auto exposure."""
    return capture(KINECT_STAR.replace(" EXPOSURE", ', exposure = "auto"'), folder / "ae.mcap", 4)
