"""ToF laser interference: two depth cameras that see the same volume must not fire their lasers at once.

"For each depth camera capture, the laser turns on nine times and is active for only 125 us each time"; with
overlapping fields of view "the camera captures should be offset from one another by 160 us or more"
(seeds/001). A depth frame whose pulse windows overlap another overlapping camera's is interfered.
"""

from __future__ import annotations

from collections import deque

from rigsync.catalog.base import LaserTiming

HORIZON_NS = 200_000_000
"""Exposures older than this before the newest are forgotten (longer than any depth exposure)."""


def _windows(start_ns: int, laser: LaserTiming) -> list[tuple[int, int]]:
    return [(start_ns + round(a * 1000), start_ns + round(b * 1000)) for a, b in laser.pulse_windows_us()]


def _any_overlap(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> bool:
    i = j = 0
    while i < len(a) and j < len(b):
        if a[i][0] < b[j][1] and b[j][0] < a[i][1]:
            return True
        if a[i][1] <= b[j][1]:
            i += 1
        else:
            j += 1
    return False


class LaserRegistry:
    """Recent ToF depth exposures (in start order), to test a new one against."""

    def __init__(self) -> None:
        self._entries: deque[tuple[int, int, int, list[tuple[int, int]]]] = deque()

    def add(self, device: int, start_ns: int, laser: LaserTiming) -> None:
        windows = _windows(start_ns, laser)
        self._entries.append((start_ns, windows[-1][1], device, windows))
        while self._entries and self._entries[0][0] < start_ns - HORIZON_NS:
            self._entries.popleft()

    def interferes(self, device: int, start_ns: int, laser: LaserTiming, overlap: list[list[bool]]) -> bool:
        mine = _windows(start_ns, laser)
        end = mine[-1][1]
        for other_start, other_end, other, windows in self._entries:
            if other == device or not overlap[device][other]:
                continue
            if other_start < end and start_ns < other_end and _any_overlap(mine, windows):
                return True
        return False
