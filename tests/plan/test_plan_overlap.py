"""ToF pairs without an all-pairs scan: the spatial classes and the pulse sweep find exactly the pairs, counts and
devices the all-pairs check finds, on random rigs; a stadium of ToF cameras is reported once per group."""

from __future__ import annotations

import random
import re
from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from rigsync.core.geometry import Pose, default_pose, seen_points, views_overlap
from rigsync.plan import build_plan
from rigsync.plan.overlap import Windows, meeting_windows, overlapping_pairs, unrelated_partners
from rigsync.spec import loads_rig


def pulses_overlap_us(a: Windows, b: Windows) -> float:
    """The all-pairs definition: how long the pulses of two cameras are on together, microseconds."""
    return sum(max(0.0, min(x1, y1) - max(x0, y0)) for x0, x1 in a for y0, y1 in b)


def random_poses(rng: random.Random, n: int) -> list[Pose]:
    """Cameras anywhere in a 12 m box, looking anywhere: some see the central volume, some part of it, some none."""
    def point(spread: float) -> tuple[float, float, float]:
        return (rng.uniform(-spread, spread), rng.uniform(-spread, spread), rng.uniform(0.0, 3.0))
    return [Pose(point(6.0), point(3.0)) for _ in range(n)]


def test_overlapping_pairs_are_exactly_the_all_pairs_check() -> None:
    """On 30 random rigs of up to 120 cameras, the mask classes give exactly the pairs views_overlap marks."""
    rng = random.Random(7)
    for _ in range(30):
        n = rng.randint(2, 120)
        poses, fovs = random_poses(rng, n), [rng.uniform(30.0, 120.0) for _ in range(n)]
        matrix = views_overlap(poses, fovs)
        expected = {(f"c{i}", f"c{j}") for i, j in combinations(range(n), 2) if matrix[i][j]}
        masks = {f"c{i}": seen_points(p, f) for i, (p, f) in enumerate(zip(poses, fovs, strict=True))}
        found = list(overlapping_pairs(masks))
        assert len(found) == len(set(found)) and set(found) == expected


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 15), st.sampled_from([None, "a", "b", "c"])), min_size=0, max_size=40))
def test_unrelated_partners_count_what_a_pairwise_scan_counts(cameras: list[tuple[int, str | None]]) -> None:
    """Each camera's partners (a common point, an unrelated clock: another key or none) match a pairwise scan."""
    masks = {f"c{i}": m for i, (m, _) in enumerate(cameras)}
    clocks = {f"c{i}": k for i, (_, k) in enumerate(cameras)}
    expected: dict[str, int] = {}
    for a, b in combinations(masks, 2):
        if masks[a] & masks[b] and (clocks[a] is None or clocks[a] != clocks[b]):
            expected[a] = expected.get(a, 0) + 1
            expected[b] = expected.get(b, 0) + 1
    assert unrelated_partners(masks, clocks) == expected


windows_strategy = st.lists(st.lists(st.tuples(st.integers(0, 2_000), st.integers(1, 300)), min_size=1, max_size=9)
                            .map(lambda ps: tuple(sorted((float(s), float(s + w)) for s, w in ps))),
                            min_size=1, max_size=12, unique=True)


@settings(max_examples=200, deadline=None)
@given(windows_strategy)
def test_meeting_windows_match_a_pairwise_scan(windows: list[tuple[tuple[float, float], ...]]) -> None:
    """The pulse sweep finds the pairs of windows whose pulses meet, and how long (self-overlapping pulses of one
    window aside), as comparing every pulse of every pair does."""
    found = meeting_windows(windows)
    for a, b in combinations(range(len(windows)), 2):
        on = pulses_overlap_us(windows[a], windows[b])
        if on > 0:
            assert abs(found[(a, b)] - on) < 1e-6
        else:
            assert (a, b) not in found


def _rig(rng: random.Random, n: int) -> tuple[str, list[tuple[str, str | None, float, tuple[float, ...] | None]]]:
    """A rig of Femto Bolts, some posed at random, in hardware groups with random depth delays or free-running."""
    text = ['[[hosts]]\nname = "h"\nusb_controllers = [{ name = "c0" }]\n']
    cams: list[tuple[str, str | None, float, tuple[float, ...] | None]] = []
    groups: dict[str, list[str]] = {}
    for i in range(n):
        group = rng.choice([None, "g0", "g1", "g2"])
        delay = rng.choice([0.0, 0.0, 60.0, 160.0, 320.0, 1_575.0, 1_600.0])
        pose = None
        if rng.random() < 0.7:
            p = random_poses(rng, 1)[0]
            pose = (*p.position_m, *p.look_at_m)
        posed = (f"pose = {{ position = [{pose[0]}, {pose[1]}, {pose[2]}], look_at = [{pose[3]}, {pose[4]}, "
                 f"{pose[5]}] }}\n") if pose else ""
        text.append(f'[[devices]]\nid = "b{i}"\nmodel = "orbbec-femto-bolt"\nserial = "B{i}"\nhost = "h"\n'
                    f'connection = "usb:c0"\n{posed}streams = [{{ kind = "depth", width = 640, height = 576, '
                    "fps = 30 }]\n")
        cams.append((f"b{i}", group, delay, pose))
        if group is not None:
            groups.setdefault(group, []).append(f"b{i}")
    for name, members in groups.items():
        delays = {c: d for c, _, d, _ in cams}
        listed = ", ".join(f'{{ device = "{m}"{f", depth_delay_us = {delays[m]:g}" if k else ""} }}'
                           for k, m in enumerate(members))
        text.append(f'[[sync]]\nname = "{name}"\nmethod = "hardware"\ntopology = "star"\n'
                    f'source = {{ device = "{members[0]}" }}\nmembers = [{listed}]\n')
    return "".join(text), cams


def _count(message: str) -> int:
    found = re.match(r"([\d,]+) overlapping pairs", message)
    return int(found.group(1).replace(",", "")) if found else 1


def test_tof_rules_report_the_pairs_of_the_all_pairs_check_once_per_group() -> None:
    """On 25 random rigs of Femto Bolts, TOF-INTERFERENCE (one diagnostic per group) and TOF-FREE-RUNNING (one for
    the rig) count and name exactly the pairs and devices the former all-pairs rules flagged."""
    rng = random.Random(11)
    for _ in range(25):
        text, cams = _rig(rng, rng.randint(2, 40))
        plan = build_plan(loads_rig(text, "random.toml"))
        poses = [default_pose(i, len(cams)) if c[3] is None else Pose(c[3][:3], c[3][3:]) for i, c in enumerate(cams)]
        matrix = views_overlap(poses, [75.0] * len(cams))
        windows = {w.device: w.pulse_windows_us for w in plan.depth_windows}
        interfering: dict[str, set[tuple[str, str]]] = {}
        free: set[tuple[str, str]] = set()
        for (i, a), (j, b) in combinations(enumerate(cams), 2):
            if not matrix[i][j]:
                continue
            if a[1] is not None and a[1] == b[1]:
                if pulses_overlap_us(windows[a[0]], windows[b[0]]) > 0:
                    interfering.setdefault(a[1], set()).add((a[0], b[0]))
            else:
                free.add((a[0], b[0]))
        reported = [d for d in plan.diagnostics if d.rule == "TOF-INTERFERENCE"]
        assert len(reported) == len(interfering)
        for d in reported:
            group = plan.device(d.devices[0]).group
            assert group is not None
            pairs = interfering[group]
            assert _count(d.message) == len(pairs)
            assert set(d.devices) == {x for p in pairs for x in p}
        free_found = [d for d in plan.diagnostics if d.rule == "TOF-FREE-RUNNING"]
        assert len(free_found) == (1 if free else 0)
        if free:
            assert _count(free_found[0].message) == len(free)
            assert set(free_found[0].devices) == {x for p in free for x in p}


def test_a_stadium_of_free_running_tof_cameras_is_one_diagnostic() -> None:
    """302 free-running Femto Bolts round the scene: one TOF-FREE-RUNNING warning counting 45,451 pairs in 302
    devices with three example pairs, and one USBFS-MEMORY warning for the 38 hosts, worst host first."""
    text = []
    for i in range(302):
        if i % 8 == 0:
            text.append(f'[[hosts]]\nname = "h{i // 8}"\nnics = [{{ name = "eth0", timestamping = "hardware" }}]\n')
        text.append(f'[[devices]]\nid = "b{i}"\nmodel = "orbbec-femto-bolt"\nserial = "B{i}"\nhost = "h{i // 8}"\n'
                    'connection = "usb:c0"\nstreams = [{ kind = "depth", width = 640, height = 576, fps = 30 }]\n')
    hosts = ", ".join(f'"h{h}"' for h in range(38))
    text.append(f'[[sync]]\nname = "clocks"\nmethod = "ptp"\nmembers = []\n[sync.ptp]\ngrandmaster = "h0"\n'
                f"hosts = [{hosts}]\n")
    plan = build_plan(loads_rig("".join(text), "stadium.toml"))
    assert sorted(d.rule for d in plan.diagnostics) == ["TOF-FREE-RUNNING", "USBFS-MEMORY"]
    tof = next(d for d in plan.diagnostics if d.rule == "TOF-FREE-RUNNING")
    assert tof.message.startswith("45,451 overlapping pairs in 302 devices")
    assert "e.g. b0-b1, b0-b2, b0-b3, ..." in tof.message and len(tof.devices) == 302
    usbfs = next(d for d in plan.diagnostics if d.rule == "USBFS-MEMORY")
    assert usbfs.message.startswith("38 findings: host h0 runs 8 libusb cameras") and "and 35 more" in usbfs.message
    assert len(usbfs.devices) == 302 and "usbfs_memory_mb=128" in usbfs.fix.split(";")[0]
