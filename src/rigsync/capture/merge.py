"""``rigsync merge``: one recording from a capture's central recording and its agents' spill files.

Every input is a rigsync recording of the same rig file (crashed ones are recovered up to their last complete
chunk). The merge:

- takes each frame once, by (device, stream, seq): the central recording's, else the first spill file's that has
  it. A frame keeps the stamp it was recorded with: the capture's, or for a frame only an agent has, the agent's,
  made by the same timebase code from the same clocks and PTP samples (:mod:`rigsync.net.spill`);
- leaves out, as warm-up, the frames stamped before the central recording started (``recording_start_rig_ns``
  in its statistics, as the capture gated them);
- recomputes every frameset over the union with the capture's own aligner and stream rules
  (:func:`~rigsync.capture.streams.align_stream`, on the base timeline of the central recording's step schedule)
  and writes the statistics as a capture does: in the merged file no frame is late (every input's frames are all
  there; the sets after the first stream's last frame are left, as at the end of a capture, naming the streams
  that ended ``stopped``), and a gap in a stream's frame counter is a ``device`` drop, except a frame an agent
  reported it could neither send nor spill (its ``overrun`` event naming device, stream and seq), a
  ``host_overrun`` drop;
- keeps the truth, PTP samples, steps and other JSON topics of every input (truth and PTP samples once each; of
  two truths of one frame, the agent's ``delivered`` wins over the capture's ``disconnected``: its agent fell
  silent before sending the frame, which is in the spill file);
- writes its own accounting under ``merge`` in ``rigsync.stats``: each input (role, host, frames taken from it),
  the frames taken from each role and, per stream, every frame missing from the merged recording by seq:
  ``sent_nowhere`` (the agent reported it reached neither the network nor its disk) or ``not_in_any_input`` (a
  gap of the frame counter no input explains: lost before the host, or a spill file cut short).
"""

from __future__ import annotations

import functools
import heapq
import json
import math
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rigsync.align import Aligner, AlignStream
from rigsync.capture.framesets import frameset_record
from rigsync.capture.report import recording_stats
from rigsync.capture.streams import align_stream, encoding
from rigsync.core.errors import RecordingError, RigsyncError
from rigsync.core.frame import ClockDomain, Frame, FrameFlags, StampedFrame, TimeFlags, TimestampSemantics
from rigsync.core.frameset import DropReason, FramesetRecord
from rigsync.core.truth import FrameTruth
from rigsync.drivers.base import EventKind
from rigsync.plan import build_plan
from rigsync.plan.model import Plan
from rigsync.record.json_schemas import topic_schema
from rigsync.record.reader import FrameStamp, RecordedImage, Recording, open_recording
from rigsync.record.recorder import FRAMES_TOPIC, FRAMESETS_TOPIC, TRUTH_TOPIC, Recorder, RecorderConfig
from rigsync.spec.loader import loads_rig
from rigsync.timebase.steps import StepSchedule

SPILL_HOST_KEY = "spill_host"
"""``rigsync`` metadata key of an agent's spill file (:mod:`rigsync.net.spill`): its host."""
SPILL_EVENTS_TOPIC = "/rigsync/agent/events"
"""Device events an agent spilled (JSON: device, kind, host_ns, stream, seq, count)."""
STEPS_TOPIC = "/rigsync/steps"
MERGE_KEY = "merge"
"""The ``rigsync.stats`` key of a merged recording's own accounting (a JSON object)."""
SEQ_MOD = 1 << 32
ARRIVAL_LAG_NS = 100_000_000
"""Each frame is handed to the aligner as if it arrived this long after its stamp: every frame on time."""
_FLAGS = {(f.name or "").lower(): f for f in FrameFlags if f}
_TIME_FLAGS = {(f.name or "").lower(): f for f in TimeFlags if f}
_SKIP_TOPICS = {FRAMES_TOPIC, FRAMESETS_TOPIC, TRUTH_TOPIC, STEPS_TOPIC}


class MergeError(RigsyncError):
    """An input or the output cannot be merged (names the file and why)."""


@dataclass
class MergeResult:
    path: Path
    frames: int
    framesets: int
    complete: int
    from_central: int
    from_spill: int
    warmup: int
    missing: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    """Per stream, the seqs missing from the merged recording, by reason."""


@dataclass(frozen=True)
class _Input:
    recording: Recording
    role: str
    host: str | None


def _open(path: Path, stack: ExitStack) -> Recording:
    try:
        return stack.enter_context(open_recording(path))
    except RecordingError as err:
        raise MergeError(str(err)) from None


def _inputs(central: Path, spills: Sequence[Path], stack: ExitStack) -> list[_Input]:
    rec = _open(central, stack)
    if SPILL_HOST_KEY in rec.metadata.get("rigsync", {}):
        raise MergeError(f"{central}: is an agent's spill file (host {rec.metadata['rigsync'][SPILL_HOST_KEY]}), "
                         "not a central recording (give the capture's recording first)")
    out = [_Input(rec, "central", None)]
    for path in spills:
        spill = _open(path, stack)
        host = spill.metadata.get("rigsync", {}).get(SPILL_HOST_KEY)
        if host is None:
            raise MergeError(f"{path}: is not an agent's spill file (its rigsync metadata has no {SPILL_HOST_KEY})")
        if spill.rig_toml != rec.rig_toml:
            raise MergeError(f"{path}: is a recording of another rig file than {central} ("
                             f"{_rig_name(spill.rig_toml)!r} vs {_rig_name(rec.rig_toml)!r}{_differs(spill, rec)})")
        out.append(_Input(spill, "spill", host))
    return out


def _rig_name(toml: str) -> str:
    try:
        return loads_rig(toml).name
    except RigsyncError:
        return "?"


def _differs(a: Recording, b: Recording) -> str:
    return ": same name, different text" if _rig_name(a.rig_toml) == _rig_name(b.rig_toml) else ""


def _stats(rec: Recording) -> dict[str, str]:
    return rec.metadata.get("rigsync.stats", {})


def _gate_ns(central: Recording, stamps: list[FrameStamp]) -> int:
    """When the central recording started (rig time): recorded in its statistics; for a crashed one without them,
    its first frame's stamp."""
    value = _stats(central).get("recording_start_rig_ns")
    if value is not None:
        return int(value)
    return min((s.rig_time_ns for s in stamps), default=0)


def _schedule(central: Recording) -> StepSchedule:
    last: dict[str, Any] | None = None
    for _, payload in central.json_messages(STEPS_TOPIC):
        last = payload
    return StepSchedule.from_json(last["schedule"]) if last is not None else StepSchedule()


def _warmup(central: Recording, chosen: dict[tuple[str, str, int], tuple[int, FrameStamp]],
            gated: set[tuple[str, str, int]]) -> set[tuple[str, str, int]]:
    """The warm-up frames, by key: those of the inputs stamped before the recording started, and those the central
    recording counted as warm-up (its statistics' ``warmup`` per stream: the seqs just before its first frame)."""
    out = set(gated)
    first: dict[tuple[str, str], int] = {}
    for (device, stream, seq), (n, _) in chosen.items():
        if n == 0 and (device, stream, seq) not in gated:
            first[(device, stream)] = min(seq, first.get((device, stream), seq))
    for (device, stream), seq0 in first.items():
        try:
            count = int(json.loads(_stats(central).get(f"{device}/{stream}", "{}"))["dropped"].get("warmup", 0))
        except (ValueError, KeyError, TypeError, AttributeError):
            count = 0
        out.update((device, stream, seq) for seq in range(max(seq0 - count, 0), seq0))
    return out


def _sent_nowhere(inputs: list[_Input]) -> set[tuple[str, str, int]]:
    """Frames agents reported they could neither send nor spill (their ``overrun`` events with a seq)."""
    out: set[tuple[str, str, int]] = set()
    for inp in inputs[1:]:
        for _, e in inp.recording.json_messages(SPILL_EVENTS_TOPIC):
            if e.get("kind") == EventKind.OVERRUN.value and e.get("stream") and e.get("seq") is not None:
                out.update((e["device"], e["stream"], int(e["seq"]) + k) for k in range(max(int(e["count"]), 1)))
    return out


def merge_recordings(out: Path, central: Path, spills: Sequence[Path], *, force: bool = False) -> MergeResult:
    """Merge ``central`` and ``spills`` into ``out`` (see the module docstring). Raises :class:`MergeError`."""
    out = Path(out)
    for path in (central, *spills):
        if out.exists() and out.resolve() == Path(path).resolve():
            raise MergeError(f"{out}: is one of the inputs (give another OUT)")
    if out.exists() and not force:
        raise MergeError(f"{out}: exists (give --force to replace it)")
    with ExitStack() as stack:
        inputs = _inputs(Path(central), spills, stack)
        central_rec = inputs[0].recording
        rig = loads_rig(central_rec.rig_toml, central_rec.metadata.get("rigsync", {}).get("rig_path", str(central)))
        plan = build_plan(rig)
        chosen: dict[tuple[str, str, int], tuple[int, FrameStamp]] = {}
        for n, inp in enumerate(inputs):
            for stamp in inp.recording.frames():
                chosen.setdefault((stamp.device, stamp.stream, stamp.seq), (n, stamp))
        gate_ns = _gate_ns(central_rec, [s for n, s in chosen.values() if n == 0])
        scheduled = "scheduled_start" in _stats(central_rec)
        gated = _warmup(central_rec, chosen, {k for k, (_, s) in chosen.items()
                                              if s.rig_time_ns + (s.error_bound_ns if scheduled else 0) < gate_ns})
        tmp = out.with_name(out.name + ".part")
        try:
            result = _write(tmp, inputs, plan, chosen, gated, _schedule(central_rec), _sent_nowhere(inputs))
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        result.path = out
        return result


def _write(path: Path, inputs: list[_Input], plan: Plan, chosen: dict[tuple[str, str, int], tuple[int, FrameStamp]],
           gated: set[tuple[str, str, int]], schedule: StepSchedule,
           sent_nowhere: set[tuple[str, str, int]]) -> MergeResult:
    """Write the merged recording to ``path``: streams, images, JSON topics, framesets, statistics."""
    rig = plan.rig
    central = inputs[0].recording
    meta = {k: v for k, v in central.metadata.get("rigsync", {}).items() if k not in ("rig_toml", "rig_path",
                                                                                         "version")}
    config = RecorderConfig(put_timeout_s=math.inf)
    streams = {f"{d.id}/{s.name}": align_stream(plan, d, s) for d in rig.devices for s in d.streams}
    with Recorder(path, config, rig_toml=central.rig_toml, rig_path=rig.path, metadata=meta) as recorder:
        for d in rig.devices:
            for s in d.streams:
                intrinsics = next((i for inp in inputs if (i := inp.recording.intrinsics(d.id, s.name)) is not None),
                                  None)
                if intrinsics is not None:
                    recorder.add_stream(d.id, s.name, intrinsics, encoding(d, s))
        # Every input holds each frame's image in the chunk of its stamp: the frames taken are known from the
        # stamps, the framesets are computed before any image is read, and everything is written in one pass over
        # the inputs, merged by log time (the recorder's reorder buffer absorbs what little disorder is left).
        written = {key: stamped_frame(stamp, None) for key, (_, stamp) in chosen.items() if key not in gated}
        sets: list[FramesetRecord] = []
        aligner: Aligner[StampedFrame] = Aligner(list(streams.values()))
        result = _align(sets.append, aligner, streams, written, gated, schedule, sent_nowhere)
        _write_in_order(recorder, inputs, chosen, gated, sets)
        counts = {"central": 0, "spill": 0}
        per_input = []
        for n, inp in enumerate(inputs):
            taken = sum(1 for k in written if chosen[k][0] == n)
            counts[inp.role] += taken
            per_input.append({"path": inp.recording.path, "role": inp.role, "host": inp.host, "frames": taken,
                              "recovered": inp.recording.recovered})
        result.from_central, result.from_spill = counts["central"], counts["spill"]
        merge = {"inputs": per_input, "frames": counts, "missing": result.missing}
        stats = {**recording_stats(aligner.stats, len(gated), (), None),
                 **{k: v for k, v in _stats(central).items() if k in ("hosts", "scheduled_start",
                                                                       "recording_start_rig_ns")},
                 MERGE_KEY: json.dumps(merge)}
        recorder.close(clocks=central.metadata.get("rigsync.clocks", {}), stats=stats)
    result.warmup = len(gated)
    return result


def stamped_frame(s: FrameStamp, image: RecordedImage | None) -> StampedFrame:
    """A recorded frame as the recorder takes it (semantics, clock domain and latency are not recorded: the
    stamp is already made); without its image, as the aligner takes it."""
    flags = FrameFlags.NONE
    for name in s.flags:
        flags |= _FLAGS.get(name, FrameFlags.NONE)
    time_flags = TimeFlags.NONE
    for name in s.time_flags:
        time_flags |= _TIME_FLAGS.get(name, TimeFlags.NONE)
    frame = Frame(s.device, s.stream, s.seq, s.device_ts_ns, s.host_rx_ns, TimestampSemantics.START_OF_EXPOSURE,
                  ClockDomain.HOST, 0, s.exposure_ns, image.image if image is not None else None,
                  image.encoding if image is not None else "", flags)
    return StampedFrame(frame, s.rig_time_ns, s.error_bound_ns, s.locked, time_flags,
                        image.rig_rx_ns if image is not None else None)


def _write_in_order(recorder: Recorder, inputs: list[_Input],
                    chosen: dict[tuple[str, str, int], tuple[int, FrameStamp]], gated: set[tuple[str, str, int]],
                    sets: list[FramesetRecord]) -> None:
    """Each chosen frame's image once (not the warm-up ones), the JSON topics and the framesets, merged by log
    time: each input's images in its file order (= log-time order), the rest sorted."""
    # An image is found by its stamp (and its seq modulo 2^32, as MCAP records it): a spill file's images are not
    # in seq order (frames the send queue refused come before the queued ones the local copy takes later), so the
    # reader's unwrapping of the 32-bit sequence cannot be trusted there.
    by_stamp = {(n, s.device, s.stream, s.seq % SEQ_MOD, s.rig_time_ns): key for key, (n, s) in chosen.items()}
    written: set[tuple[str, str, int]] = set()

    def images(n: int, rec: Recording) -> Iterator[tuple[int, int, Callable[[], object]]]:
        for image in rec.images_of([(i.device, i.stream) for i in rec.streams]):
            key = by_stamp.get((n, image.device, image.stream, image.seq % SEQ_MOD, image.rig_time_ns))
            if key is not None and key not in written and key not in gated:
                written.add(key)
                yield image.rig_time_ns, 0, functools.partial(recorder.write_image,
                                                              stamped_frame(chosen[key][1], image))

    others: list[tuple[int, int, Callable[[], object]]] = [
        (log_ns, 1, functools.partial(write, *args)) for log_ns, write, args in _json_of(recorder, inputs)]
    others += [(r.rig_time_ns, 2, functools.partial(recorder.write_frameset, r)) for r in sets]
    others.sort(key=lambda item: (item[0], item[1]))
    streams = [images(n, inp.recording) for n, inp in enumerate(inputs)]
    for _, _, write in heapq.merge(*streams, others, key=lambda item: (item[0], item[1])):
        write()


def _json_of(recorder: Recorder, inputs: list[_Input]) -> Iterator[tuple[int, Callable[..., object], tuple[Any, ...]]]:
    """Truth (once per frame), PTP samples (once per sample), the central recording's steps and every input's
    other JSON topics (each with its schema; a topic rigsync does not write is refused): ``(log_ns, write, its
    arguments)``."""
    truths: dict[tuple[str, str, int, int], FrameTruth] = {}
    for inp in inputs:
        for truth in inp.recording.truth():
            key = (truth.device, truth.stream, truth.seq, truth.exposure_start_ns)
            # The central recording calls a frame whose agent fell silent before sending it lost ``disconnected``;
            # the agent's own truth in its spill file says it was delivered (and its frame is in that file).
            if key not in truths or (truth.delivered and not truths[key].delivered):
                truths[key] = truth
    for truth in truths.values():
        yield truth.exposure_start_ns, recorder.write_truth, (truth,)
    seen_ptp: set[tuple[str, int]] = set()
    for n, inp in enumerate(inputs):
        rec = inp.recording
        for topic in rec.json_topics():
            if topic in _SKIP_TOPICS and not (topic == STEPS_TOPIC and n == 0):
                continue
            schema = topic_schema(topic)
            if schema is None:
                raise RecordingError(rec.path, f"topic {topic} is not one rigsync writes (no JSON schema): not merged")
            for log_ns, payload in rec.json_messages(topic):
                if topic.startswith("/rigsync/ptp/"):
                    ptp_key = (topic, int(payload.get("mono_ns", log_ns)))
                    if ptp_key in seen_ptp:
                        continue
                    seen_ptp.add(ptp_key)
                yield log_ns, functools.partial(recorder.write_json, schema=schema), (topic, payload, log_ns)


def _align(write: Callable[[FramesetRecord], None], aligner: Aligner[StampedFrame], streams: dict[str, AlignStream],
           written: dict[tuple[str, str, int], StampedFrame], gated: set[tuple[str, str, int]],
           schedule: StepSchedule, sent_nowhere: set[tuple[str, str, int]]) -> MergeResult:
    """Every frame through the capture's aligner, in order of its reference time, each on time; framesets written
    as the capture writes them."""
    base = schedule.base_ns
    items: list[tuple[int, str, int, StampedFrame | None]] = []
    for (device, stream, seq), frame in written.items():
        key = f"{device}/{stream}"
        items.append((base(frame.rig_time_ns) - streams[key].offset_ns, key, seq, frame))
    missing: dict[str, dict[str, list[int]]] = {}
    by_stream: dict[str, list[int]] = {}
    for device, stream, seq in (*written, *gated):
        by_stream.setdefault(f"{device}/{stream}", []).append(seq)
    for key, seqs in by_stream.items():
        device, stream = key.split("/", 1)
        have = set(seqs)
        for seq in range(min(seqs), max(seqs)):
            if seq not in have:
                reason = "sent_nowhere" if (device, stream, seq) in sent_nowhere else "not_in_any_input"
                missing.setdefault(key, {}).setdefault(reason, []).append(seq)
    overrun = {(key, seq) for key, reasons in missing.items() for seq in reasons.get("sent_nowhere", [])}
    first_ref = min((i[0] for i in items), default=0)
    for device, stream, seq in gated:  # warm-up: the clocks learnt from them, the recording has none
        items.append((first_ref - 1, f"{device}/{stream}", seq, None))
    framesets = complete = 0

    def emit(sets: list[Any]) -> None:
        nonlocal framesets, complete
        for fs in sets:
            write(frameset_record(fs, streams, schedule.rig_ns))
            framesets += 1
            complete += not fs.missing

    # Time stops when the first stream ends (its last frame): sets after it wait, as at the end of a capture, and
    # leave at the flush naming the streams that ended ``stopped`` (devices stopped one after the other).
    last_ref: dict[str, int] = {}
    for ref, key, _, item in items:
        if item is not None:
            last_ref[key] = max(ref, last_ref.get(key, ref))
    freeze_ns = min(last_ref.values(), default=0) + ARRIVAL_LAG_NS
    for ref, key, seq, item in sorted(items, key=lambda i: (i[0], i[1], i[2])):
        arrival = min(ref + ARRIVAL_LAG_NS, freeze_ns)
        if item is None:
            emit(aligner.drop(key, seq, DropReason.WARMUP))
            continue
        lost = seq - 1
        while (key, lost) in overrun:  # frames an agent sent nowhere, just before this one
            lost -= 1
        for lost_seq in range(lost + 1, seq):
            emit(aligner.drop(key, lost_seq, DropReason.HOST_OVERRUN))
        emit(aligner.advance(arrival))
        emit(aligner.push(key, item, seq=seq, rig_time_ns=base(item.rig_time_ns), error_ns=item.error_bound_ns,
                          arrival_ns=arrival, corrupt=bool(item.frame.flags & FrameFlags.CORRUPT),
                          locked=item.locked))
    emit(aligner.flush())
    return MergeResult(Path(), len(written), framesets, complete, 0, 0, 0, missing)

