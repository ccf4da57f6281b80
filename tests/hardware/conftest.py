"""Fixtures of the hardware first-light tests (``RIGSYNC_HARDWARE_RIG``; firstlight.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.hardware.firstlight import capture_take, hardware_plan

from rigsync.plan.model import Plan


@pytest.fixture(scope="session")
def plan() -> Plan:
    """The plan of the attached cameras' rig file; skips when ``RIGSYNC_HARDWARE_RIG`` is unset."""
    return hardware_plan()


@pytest.fixture(scope="session")
def take(plan: Plan, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One 10 s capture of the whole rig, shared by every vendor's module."""
    yield from capture_take(plan, tmp_path_factory.mktemp("first-light"))
