"""Time flags as plain integers on the per-frame path (not public API).

Combining :class:`~rigsync.core.frame.TimeFlags` with ``|`` or ``&`` runs Python code in :mod:`enum` (about a
microsecond each); the stamping path combines the bits as integers and turns them into a flag once, by lookup.
"""

from __future__ import annotations

from rigsync.core.frame import TimeFlags

NONE = TimeFlags.NONE
ACQUIRING = int(TimeFlags.ACQUIRING)
SLEWING = int(TimeFlags.SLEWING)
HOST_UNSYNCED = int(TimeFlags.HOST_UNSYNCED)
PTP_UNLOCKED = int(TimeFlags.PTP_UNLOCKED)
PTP_ERROR = int(TimeFlags.PTP_ERROR)

FLAGS: tuple[TimeFlags, ...] = tuple(TimeFlags(bits) for bits in range(sum(f.value for f in TimeFlags) + 1))
"""``FLAGS[bits]``: the flag with those bits."""
LOCKED: tuple[bool, ...] = tuple(not bits & (ACQUIRING | SLEWING) for bits in range(len(FLAGS)))
"""``LOCKED[flags]``: neither acquiring nor slewing (a flag indexes the table as its integer value)."""
