"""Read a recording's image streams for the LED clock in as few passes over the file as there are workers.

Decompressing the file is a large part of reading it, so each worker reads it once for all its streams
(:meth:`Recording.images_of`) and hands each image to its stream's decoder (:func:`decode_stream`, one thread per
stream, fed through a short queue so that only a few images per stream are held). Streams are shared among
worker processes (one per core by default): the decode is Python and numpy on small arrays, held by the GIL.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

from rigsync.boards.ledclock import LedClockBoard
from rigsync.record import open_recording
from rigsync.record.reader import RecordedImage
from rigsync.verify.ledclock_stream import StreamDecode, decode_stream

__all__ = ["decode_streams", "default_workers"]

_QUEUED = 4
"""Images held per stream between the reader and its decoder."""


def default_workers() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _Decoder(threading.Thread):
    """Decodes one stream from the images put in its queue (None ends it)."""

    def __init__(self, key: str, board: LedClockBoard) -> None:
        super().__init__(name=f"ledclock {key}", daemon=True)
        self.key = key
        self.board = board
        self.inbox: queue.Queue[RecordedImage | None] = queue.Queue(_QUEUED)
        self.result: StreamDecode | None = None
        self.error: BaseException | None = None
        self._ended = False

    def _images(self) -> Iterator[RecordedImage]:
        while (img := self.inbox.get()) is not None:
            yield img
        self._ended = True

    def run(self) -> None:
        try:
            self.result = decode_stream(self.key, self._images(), self.board)
        except BaseException as exc:  # raised again by the reader's thread
            self.error = exc
        # Stopped early (an error): drain what the reader still puts in, up to the None it always sends.
        while not self._ended and self.inbox.get() is not None:
            pass


def _decode_here(path: str, keys: Sequence[str], board: LedClockBoard) -> dict[str, StreamDecode]:
    """``keys`` (``device/stream``) decoded in this process, the file read once."""
    decoders = {k: _Decoder(k, board) for k in keys}
    for d in decoders.values():
        d.start()
    try:
        with open_recording(path) as rec:
            for img in rec.images_of([tuple(k.split("/", 1)) for k in keys]):  # type: ignore[misc]
                decoders[f"{img.device}/{img.stream}"].inbox.put(img)
    finally:
        for d in decoders.values():
            d.inbox.put(None)
        for d in decoders.values():
            d.join()
    out = {}
    for k, d in decoders.items():
        if d.error is not None:
            raise d.error
        assert d.result is not None
        out[k] = d.result
    return out


def decode_streams(path: str | Path, keys: Sequence[str], board: LedClockBoard,
                   workers: int | None = None) -> dict[str, StreamDecode]:
    """Every stream of ``keys`` (``device/stream``) of the recording at ``path`` decoded, on ``workers``
    processes (default: one per core; 1: in this process), each reading the file once."""
    workers = min(workers if workers is not None else default_workers(), len(keys))
    if workers <= 1:
        return _decode_here(str(path), keys, board) if keys else {}
    shares = [list(keys[n::workers]) for n in range(workers)]
    # forkserver, not fork: a fork copies the locks other threads of the caller hold at that moment (an import,
    # a file being read), and a worker then waits on one forever (seen once in the tests).
    with ProcessPoolExecutor(workers, mp_context=get_context("forkserver")) as pool:
        parts = list(pool.map(_decode_here, [str(path)] * workers, shares, [board] * workers))
    merged = {k: v for part in parts for k, v in part.items()}
    return {k: merged[k] for k in keys}
