"""Damaged and foreign recordings, and the check ``rigsync info`` must pass on each.

Cases: a rigsync recording cut at any byte, with bits flipped, with byte ranges zeroed or overwritten; the
magic bytes alone (or followed by garbage); empty and non-MCAP files; valid MCAP files that rigsync did not
write (the ``mcap`` library's own writer, other schemas and topics, every compression, or rigsync-looking
topics and metadata holding something else). Each must give a recording (a recovered one says what it kept)
or a :class:`RecordingError` naming the file, never another exception.

The suite runs a sample (``test_fuzz_recordings.py``); a bigger one-off run:
``PYTHONPATH=src python3 -m tests.fuzz.mcapfuzz --cases 3000 --seed 1``.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import re
import struct
import time
from dataclasses import dataclass
from pathlib import Path

from mcap.writer import CompressionType, Writer
from tests.fuzz.rigfuzz import CaseTimeout, crash, limited

MAGIC = b"\x89MCAP0\r\n"
EXAMPLES = Path(__file__).parents[2] / "examples"


def capture(folder: Path, compression: str, seconds: float = 0.4) -> bytes:
    """A small real recording of the Genlock example (two streams per camera, framesets, truth, stats)."""
    from rigsync.capture.session import CaptureOptions, CaptureSession
    from rigsync.plan import build_plan
    from rigsync.record.recorder import Compression
    from rigsync.spec import load_rig

    path = folder / f"source-{compression}.mcap"
    rig = load_rig(EXAMPLES / "realsense_genlock.toml")
    options = CaptureOptions(out=path, seconds=seconds, fast=True, compression=Compression(compression))
    with CaptureSession(build_plan(rig), options) as session:
        session.run()
    return path.read_bytes()


def chunked(folder: Path, compression: str, frames: int = 40) -> bytes:
    """A recording of small frames in 16 KiB chunks (many chunks: cuts fall between and inside them), with
    framesets and a stream's frame records, written by rigsync's recorder."""
    import numpy as np

    from rigsync.core.frame import ClockDomain, Frame, StampedFrame, TimestampSemantics
    from rigsync.core.frameset import FramesetMember, FramesetRecord
    from rigsync.core.intrinsics import Intrinsics
    from rigsync.record import Compression, Recorder, RecorderConfig

    path = folder / f"chunked-{compression}.mcap"
    config = RecorderConfig(compression=Compression(compression), chunk_size_bytes=16 << 10)
    t0, period = 1_790_000_000_000_000_000, 33_333_333
    with Recorder(path, config, rig_toml="[rig]\nname = 'chunked'\n", rig_path="chunked.toml") as rec:
        rec.add_stream("cam", "color", Intrinsics.from_hfov(48, 32, 70.0), "rgb8")
        for seq in range(frames):
            image = (np.arange(48 * 32 * 3, dtype=np.uint32) * 7 + seq * 131).astype(np.uint8).reshape(32, 48, 3)
            frame = Frame(device="cam", stream="color", seq=seq, device_ts_ns=seq * 1000, host_rx_ns=t0 + seq * period,
                          semantics=TimestampSemantics.START_OF_EXPOSURE, domain=ClockDomain.DEVICE,
                          min_latency_ns=1_000_000, exposure_ns=None, image=image, encoding="rgb8")
            rec.write_image(StampedFrame(frame=frame, rig_time_ns=t0 + seq * period, error_bound_ns=50_000))
            member = FramesetMember("cam", "color", seq, t0 + seq * period, seq * 1000, t0 + seq * period, 50_000)
            rec.write_frameset(FramesetRecord(seq, t0 + seq * period, 0, (member,), ()))
    return path.read_bytes()


def foreign(rng: random.Random) -> bytes:
    """A valid MCAP file that rigsync did not write."""
    out = io.BytesIO()
    writer = Writer(out, compression=rng.choice(list(CompressionType)), chunk_size=rng.choice((64, 1024, 1 << 20)))
    writer.start(profile=rng.choice(("", "ros2", "x")), library=rng.choice(("mcap-python", "", "rigsync")))
    schemas = [writer.register_schema("foxglove.RawImage", "protobuf", b"\x00\x01garbage"),
               writer.register_schema("std_msgs/String", "ros2msg", b"string data"),
               writer.register_schema("x", "jsonschema", b"{}")]
    topics = ["/image", "/a/b/image", "/cam/color/image", "/rigsync/framesets", "/rigsync/frames", "/rigsync/truth",
              "image", "/x/y/z/image", "/[/x]/:smile:/image"]
    metadata = {"width": rng.choice(("640", "x", "-1", "1e400")), "height": "480", "encoding": "rgb8",
                "device": rng.choice(("cam", "[[hosts]]")), "stream": "color"}
    channels = [writer.register_channel(t, rng.choice(("json", "protobuf", "cdr")), rng.choice(schemas),
                                        metadata if rng.random() < 0.5 else {}) for t in topics]
    for _ in range(rng.randrange(0, 60)):
        payload = rng.choice((b"{}", b"not json", json.dumps({"frameset_id": "x"}).encode(), bytes(rng.randrange(64)),
                              b"\x0a\x03abc", json.dumps({"device": 1, "seq": []}).encode()))
        writer.add_message(rng.choice(channels), log_time=rng.randrange(2**63), data=payload,
                           publish_time=rng.randrange(2**63), sequence=rng.randrange(2**32))
    if rng.random() < 0.5:
        writer.add_metadata(rng.choice(("rigsync", "rigsync.stats", "rigsync.clocks", "other")),
                            {"version": "[/x]", "cam/color": "{not json", "hosts": '[{"host": 1}]',
                             "scheduled_start": '{"late_ns": 5}', "cam": '{"drift_ppm": "x"}'})
    writer.finish()
    return out.getvalue()


def _damage(rng: random.Random, data: bytes) -> bytes:
    op = rng.random()
    raw = bytearray(data)
    if op < 0.3:
        return bytes(raw[: rng.randrange(len(raw))])
    if op < 0.55:
        for _ in range(rng.choice((1, 1, 2, 8, 64))):
            i = rng.randrange(len(raw))
            raw[i] ^= 1 << rng.randrange(8)
        return bytes(raw)
    if op < 0.75:
        i = rng.randrange(len(raw))
        n = rng.choice((1, 8, 64, 4096, 65536))
        raw[i:i + n] = bytes(min(n, len(raw) - i))
        return bytes(raw)
    if op < 0.9:
        i = rng.randrange(len(raw))
        n = rng.choice((4, 8, 64, 1024))
        raw[i:i + n] = rng.randbytes(min(n, len(raw) - i))
        return bytes(raw)
    i = rng.randrange(len(raw))  # a record length field made huge
    raw[i:i + 8] = struct.pack("<Q", rng.choice((2**63 - 1, 2**40, 2**32 + 1)))[: len(raw) - i]
    return bytes(raw)


def mutated(rng: random.Random, sources: list[bytes]) -> tuple[str, bytes]:
    """One case: what it is, and the file's bytes."""
    op = rng.random()
    if op < 0.6:
        return "damaged", _damage(rng, rng.choice(sources))
    if op < 0.7:
        return "foreign", foreign(rng)
    if op < 0.8:
        return "damaged-foreign", _damage(rng, foreign(rng))
    return "other", rng.choice((MAGIC, MAGIC * 2, MAGIC + rng.randbytes(rng.randrange(1, 200)), b"", b"\x89MCA",
                                b"[[hosts]]\nname = 'x'\n", rng.randbytes(100), MAGIC + b"\x01" + bytes(8) + MAGIC))


@dataclass(frozen=True)
class Outcome:
    kind: str
    result: str
    """``read`` (shown, complete), ``recovered`` (shown, saying how many chunks were kept), ``rejected`` (a
    RecordingError naming the file); failures: ``unexplained`` (recovered without saying what was kept),
    ``unnamed`` (an error not naming the file), ``crash`` (any other exception), ``timeout``."""
    detail: str
    seconds: float


def check_file(path: Path) -> tuple[str, str]:
    """``rigsync info`` on one file, plus reading every frame, frameset and image stream back."""
    from rich.console import Console

    from rigsync.cli.view import info_tables
    from rigsync.core.errors import RigsyncError
    from rigsync.record.reader import open_recording

    try:
        with open_recording(path) as rec:
            summary = rec.summary()
            console = Console(file=io.StringIO(), width=160)
            for table in info_tables(summary, rec.metadata):
                console.print(table)
            for _ in rec.frames():
                pass
            for s in rec.streams:
                for _ in rec.images(s.device, s.stream):
                    pass
            for _ in rec.framesets_with_images():
                pass
    except RigsyncError as err:
        return ("rejected" if str(err).startswith(f"{path}: ") else "unnamed"), str(err)[:300]
    except CaseTimeout:
        raise
    except BaseException as exc:
        return "crash", crash(exc)
    if summary.recovered:
        recovery = getattr(summary, "recovery", "")  # (older versions said nothing)
        return ("recovered" if re.search(r"kept [\d,]+ complete chunk", recovery) else "unexplained"), recovery
    return "read", ""


def run_case(rng: random.Random, sources: list[bytes], folder: Path, timeout_s: float) -> Outcome:
    kind, raw = mutated(rng, sources)
    path = folder / "case.mcap"
    path.write_bytes(raw)
    return Outcome(kind, *limited(check_file, path, timeout_s))


def main() -> None:
    import tempfile
    from collections import Counter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        sources = [capture(Path(tmp), c) for c in ("zstd", "lz4", "none")]
        sources += [chunked(Path(tmp), c) for c in ("zstd", "lz4", "none")]
        t0 = time.perf_counter()
        outcomes = [run_case(rng, sources, Path(tmp), args.timeout) for _ in range(args.cases)]
    print(f"{args.cases} cases in {time.perf_counter() - t0:.1f} s: {dict(Counter(o.result for o in outcomes))}")
    by_kind = Counter((o.kind, o.result) for o in outcomes)
    print("  by kind:", dict(sorted(by_kind.items())))
    crashes = Counter(o.detail.split(":")[0] + " at " + o.detail.rsplit(" at ", 1)[-1]
                      for o in outcomes if o.result == "crash")
    for what, n in crashes.most_common():
        print(f"  crash {n:5d}  {what}")
    for o in outcomes:
        if o.result in ("unnamed", "timeout", "unexplained") or o.seconds > 5:
            print(f"  {o.kind} {o.result} {o.seconds:.1f} s: {o.detail[:200]}")


if __name__ == "__main__":
    main()
