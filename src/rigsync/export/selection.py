"""Which framesets an export writes (``--every N``, ``--time A..B``, ``--complete-only``), and each one's images.

``--time A..B`` is in seconds from the recording's first frameset (its ``rig_time_ns`` is 0 s), both ends included;
either end may be left out (``2..``, ``..5.5``). ``--every N`` keeps every N-th frameset of those the other two
options keep, starting with the first.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

from rigsync.core.errors import OptionError
from rigsync.core.frameset import FramesetRecord
from rigsync.record import RecordedImage, Recording

Images = dict[tuple[str, str], RecordedImage]


@dataclass(frozen=True, slots=True)
class Selection:
    """Frameset selection; validated at construction."""

    every: int = 1
    start_s: float | None = None
    """Seconds from the first frameset (None: from the start)."""
    end_s: float | None = None
    """Seconds from the first frameset, included (None: to the end)."""
    complete_only: bool = False

    def __post_init__(self) -> None:
        if self.every < 1:
            raise OptionError("--every", self.every, "must be a whole number of 1 or more", "1, 2, 3, ...")
        if self.start_s is not None and self.end_s is not None and self.end_s < self.start_s:
            raise OptionError("--time", f"{self.start_s}..{self.end_s}", "ends before it starts", "A..B with A <= B")

    def to_json(self) -> dict[str, object]:
        return {"every": self.every, "time_s": [self.start_s, self.end_s], "complete_only": self.complete_only}


def parse_time_range(text: str) -> tuple[float | None, float | None]:
    """``A..B`` (seconds; either end may be empty) to ``(start_s, end_s)``; :class:`OptionError` naming ``--time``."""
    allowed = "A..B, ..B or A.., seconds from the first frameset, e.g. 1.5..4"
    if text.count("..") != 1:
        raise OptionError("--time", text, "is not a range", allowed)
    ends: list[float | None] = []
    for part in text.split(".."):
        if not part.strip():
            ends.append(None)
            continue
        try:
            value = float(part)
        except ValueError:
            raise OptionError("--time", text, f"{part!r} is not a number of seconds", allowed) from None
        if not math.isfinite(value) or value < 0:
            raise OptionError("--time", text, f"{part!r} is not a finite number of seconds >= 0", allowed)
        ends.append(value)
    if ends[0] is not None and ends[1] is not None and ends[1] < ends[0]:
        raise OptionError("--time", text, "ends before it starts", allowed)
    return ends[0], ends[1]


def check_selects_some(recording: Recording, selection: Selection) -> None:
    """Refuse a selection that keeps no frameset of ``recording`` (an empty export would look like a written one):
    :class:`OptionError` naming ``--time`` (with the recording's span) or ``--complete-only``. Reads the frameset
    records only; a complete frameset whose image was not recorded is counted here and left out later."""
    records = list(recording.framesets())
    if not records:
        raise OptionError("rigsync export", str(recording.path), "the recording has no frameset",
                          "a recording with framesets (rigsync info shows them)")
    t0 = records[0].rig_time_ns
    lo = None if selection.start_s is None else t0 + round(selection.start_s * 1e9)
    hi = None if selection.end_s is None else t0 + round(selection.end_s * 1e9)
    in_time = [r for r in records if (lo is None or r.rig_time_ns >= lo) and (hi is None or r.rig_time_ns <= hi)]
    if not in_time:
        span = (records[-1].rig_time_ns - t0) / 1e9
        ends = ("" if e is None else f"{e:g}" for e in (selection.start_s, selection.end_s))
        raise OptionError("--time", "..".join(ends),
                          f"selects no frameset: {recording.path}'s framesets are from 0 to {span:.3f} s",
                          f"a range meeting 0..{span:.3f}")
    if selection.complete_only and all(r.missing for r in in_time):
        raise OptionError("--complete-only", None, f"keeps no frameset: each of the {len(in_time)} selected has a "
                          f"missing member", "leave it out, or a --time range with complete framesets")


def selected(recording: Recording, selection: Selection) -> Iterator[tuple[FramesetRecord, Images]]:
    """The framesets ``selection`` keeps, in order, each with the images of its members that were recorded."""
    first = next(recording.framesets(), None)
    if first is None:
        return
    start_ns = None if selection.start_s is None else first.rig_time_ns + round(selection.start_s * 1e9)
    end_ns = None if selection.end_s is None else first.rig_time_ns + round(selection.end_s * 1e9)
    kept = 0
    for record, images in recording.framesets_with_images():
        if start_ns is not None and record.rig_time_ns < start_ns:
            continue
        if end_ns is not None and record.rig_time_ns > end_ns:
            continue
        if selection.complete_only and (record.missing or len(images) < len(record.members)):
            continue
        kept += 1
        if (kept - 1) % selection.every == 0:
            yield record, images
