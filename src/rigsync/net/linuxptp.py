"""A host's real linuxptp state where it stamps nothing: an agent of simulated devices on a host that runs linuxptp
(``rigsync agent --ptp-state DIR``) publishes its readings on ``@linuxptp``, and the capture records them on
``/rigsync/linuxptp/<host>``.

Which readings stamp frames: a simulated device's clock is the simulator's, and so is its host's clock, which the
simulator's model of that host's ptp4l ties to the PTP reference (``@ptp``, recorded on ``/rigsync/ptp/<host>``).
The machine's linuxptp measures the machine's clock, which no simulated frame is on: its readings are observed -
recorded, never fed to a timebase. For real devices the same readings are the host's PTP source and go on ``@ptp``.
"""

from __future__ import annotations

from typing import Any

from rigsync.core.ptp import PtpSample

TOPIC_PREFIX = "/rigsync/linuxptp/"


def linuxptp_record(sample: PtpSample) -> tuple[str, dict[str, Any]]:
    """The topic and message of one observed linuxptp reading: the :class:`PtpSample` fields (port state, offset
    from master, mean path delay, grandmaster identity, the host's system and monotonic times of the reading)."""
    return TOPIC_PREFIX + sample.host, sample.to_json()
