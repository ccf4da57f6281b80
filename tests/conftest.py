"""Suite-wide test set-up."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _sigint_handled() -> Iterator[None]:
    """Every test starts with Python's own SIGINT handler, as in an interactive run: pytest run as a background job
    of a non-interactive shell inherits SIGINT ignored, and then ``_thread.interrupt_main`` and ``raise_signal``
    do nothing (tests that mean an ignored SIGINT set it up themselves)."""
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, inherited)
