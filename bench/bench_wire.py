"""Wire format cost: encode + decode of frame messages against pickle of the same frames and a bare image copy.

Cases: a 320x240 RGB-D pair (rgb8 + 16UC1 frames, stamped, two messages) and one 1920x1200 mono8 frame. For each
case and repetition the three ways run back to back on the same frames, in rotating order:

- ``wire``: ``decode(encode(msg))`` (encode copies the image once into the message; decode is a view);
- ``pickle``: ``pickle.loads(pickle.dumps(msg, protocol=5))`` of the same FrameMessage (copies the image into the
  pickle and out of it again);
- ``copy``: ``image.tobytes()``, one plain copy of the pixels: the least any sender must do to put an image into
  a message.

Figures: microseconds per message and image MB/s (medians over repetitions), and the wire's time over the copy's
and over pickle's, in the same run (the ratios are the meaningful figures on a loaded machine).

    python bench/bench_wire.py --reps 7 --iterations 200
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time
from collections.abc import Callable

import numpy as np

from rigsync.core.frame import ClockDomain, Frame, TimeFlags, TimestampSemantics
from rigsync.net.messages import FrameMessage, RigStamp
from rigsync.net.wire import decode, encode


def message(stream: str, image: np.ndarray, encoding: str, seq: int) -> FrameMessage:
    frame = Frame("cam-01", stream, seq, 5_000_000_000 + seq * 33_333_333, 7_000_000_000 + seq * 33_333_333,
                  TimestampSemantics.CENTER_OF_EXPOSURE, ClockDomain.DEVICE, 4_000_000, 8_000_000, image, encoding)
    return FrameMessage(frame, RigStamp(1_700_000_000_000_000_000 + seq, 150_000, TimeFlags.NONE, True))


def cases(seed: int = 3) -> dict[str, list[FrameMessage]]:
    rng = np.random.default_rng(seed)
    color = rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)
    depth = rng.integers(300, 8000, (240, 320), dtype=np.uint16)
    mono = rng.integers(0, 256, (1200, 1920), dtype=np.uint8)
    return {"320x240 RGB-D pair": [message("color", color, "rgb8", 1), message("depth", depth, "16UC1", 1)],
            "1920x1200 mono8": [message("mono", mono, "mono8", 1)]}


def wire_round_trip(msgs: list[FrameMessage]) -> None:
    for m in msgs:
        decode(encode(m))


def pickle_round_trip(msgs: list[FrameMessage]) -> None:
    for m in msgs:
        pickle.loads(pickle.dumps(m, protocol=5))


def image_copy(msgs: list[FrameMessage]) -> None:
    for m in msgs:
        assert m.frame.image is not None
        m.frame.image.tobytes()


WAYS: dict[str, Callable[[list[FrameMessage]], None]] = {
    "wire": wire_round_trip, "pickle": pickle_round_trip, "copy": image_copy}


def timed(way: Callable[[list[FrameMessage]], None], msgs: list[FrameMessage], iterations: int) -> float:
    """Seconds per pass over ``msgs``."""
    start = time.perf_counter()
    for _ in range(iterations):
        way(msgs)
    return (time.perf_counter() - start) / iterations


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--iterations", type=int, default=200, help="passes over a case per timing")
    args = parser.parse_args()
    for name, msgs in cases().items():
        image_bytes = sum(m.frame.image.nbytes for m in msgs if m.frame.image is not None)
        wire_bytes = sum(len(encode(m)) for m in msgs)
        for m in msgs:  # the wire carries the frame exactly
            got = decode(encode(m))
            assert isinstance(got, FrameMessage) and got.frame.image is not None and m.frame.image is not None
            assert np.array_equal(got.frame.image, m.frame.image) and got.stamp == m.stamp
        times: dict[str, list[float]] = {way: [] for way in WAYS}
        ratio_copy, ratio_pickle = [], []
        for rep in range(args.reps):
            order = list(WAYS)[rep % 3:] + list(WAYS)[:rep % 3]
            run = {way: timed(WAYS[way], msgs, args.iterations) for way in order}
            for way, seconds in run.items():
                times[way].append(seconds)
            ratio_copy.append(run["wire"] / run["copy"])
            ratio_pickle.append(run["wire"] / run["pickle"])
        print(f"{name}: {len(msgs)} message(s), {image_bytes / 1e6:.3f} MB of image, "
              f"{wire_bytes - image_bytes} bytes of header and names")
        for way, seconds in times.items():
            median = statistics.median(seconds)
            print(f"  {way:7s} {median / len(msgs) * 1e6:9.1f} us/message  {image_bytes / median / 1e6:9.0f} MB/s")
        print(f"  wire / copy   time ratio: median {statistics.median(ratio_copy):.2f} "
              f"(range {min(ratio_copy):.2f}-{max(ratio_copy):.2f})")
        print(f"  wire / pickle time ratio: median {statistics.median(ratio_pickle):.2f} "
              f"(range {min(ratio_pickle):.2f}-{max(ratio_pickle):.2f})")


if __name__ == "__main__":
    main()
