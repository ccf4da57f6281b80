"""The aligner's floor (what a recorder may write in log-time order): no frameset it returns later is older."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.align.test_aligner import Shot, make_rig

from rigsync.align import Aligner, Frameset


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.lists(st.sampled_from([15.0, 30.0, 60.0, 90.0]), min_size=1, max_size=6),
       st.sampled_from([0.0, 0.05]))
def test_no_frameset_returned_after_a_floor_is_older_than_it(seed: int, rates: list[float], drop: float) -> None:
    """Random rigs with drops and heavy-tailed latencies, fed in arrival order with time advanced to every
    deadline: each frameset's time is at or above every floor taken before it was returned, and each frame
    pushed within its stream's allowance is stamped at or above the floor taken before it."""
    streams, shots = make_rig(seed, rates, 2.0, drop=drop)
    al: Aligner[Shot] = Aligner(streams)
    floors: list[int] = []
    checked = 0

    def returned(sets: list[Frameset[Shot]]) -> None:
        nonlocal checked
        for fs in sets:
            assert fs.rig_time_ns >= max(floors, default=fs.rig_time_ns), fs.frameset_id
            checked += 1

    for s in shots:
        deadline = al.next_deadline_ns()
        while deadline is not None and deadline < s.arrival_ns:
            returned(al.advance(deadline))
            floors.append(al.floor_ns())
            nxt = al.next_deadline_ns()
            if nxt == deadline:
                break
            deadline = nxt
        on_time = s.arrival_ns - s.rig_ns <= al.allowance_ns(s.key)
        if on_time and floors:
            assert s.rig_ns >= floors[-1], (s.key, s.seq)
        returned(al.push(s.key, s, seq=s.seq, rig_time_ns=s.rig_ns, error_ns=s.error_ns, arrival_ns=s.arrival_ns))
        floors.append(al.floor_ns())
    returned(al.flush())
    assert checked > 0
