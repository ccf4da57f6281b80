"""One BLAS thread for a while: numerical work on many small operations (a sparse least-squares solve's vector
products and norms) runs slower on OpenBLAS's thread pool than on one thread, and far slower when the cores are
busy (its threads wait for each other: on a loaded 2-core machine, 3x the time of the calibration's solve).

Linux only (the OpenBLAS copies numpy and scipy load, found in ``/proc/self/maps``); elsewhere, or when the
library exposes no thread setting, nothing changes.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

_NAMES = ("scipy_openblas_{}_num_threads64_", "scipy_openblas_{}_num_threads", "openblas_{}_num_threads64_",
          "openblas_{}_num_threads")
"""The thread setting's symbol in numpy's and scipy's OpenBLAS builds (64-bit integers or not) and plain ones."""


def _pools() -> list[tuple[Callable[[], int], Callable[[int], None]]]:
    """``(get, set)`` of each loaded OpenBLAS's thread count."""
    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    paths = sorted(set(re.findall(r"(/\S*openblas\S*\.so\S*)", maps.read_text())))
    return [pool for path in paths if (pool := _pool(path)) is not None]


@cache
def _pool(path: str) -> tuple[Callable[[], int], Callable[[int], None]] | None:
    try:
        lib = ctypes.CDLL(path)
    except OSError:
        return None
    for name in _NAMES:
        get, put = getattr(lib, name.format("get"), None), getattr(lib, name.format("set"), None)
        if get is not None and put is not None:
            get.restype, put.argtypes = ctypes.c_int, [ctypes.c_int]
            return get, put
    return None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """OpenBLAS on one thread inside the block (each library's count restored after). The setting is the
    process's: numerical work in other threads meanwhile runs on one thread too."""
    pools = _pools()
    before = [get() for get, _ in pools]
    for _, put in pools:
        put(1)
    try:
        yield
    finally:
        for (_, put), n in zip(pools, before, strict=True):
            put(n)
