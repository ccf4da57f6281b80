"""one_blas_thread: OpenBLAS on one thread inside the block, the previous count after (also after an error)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import scipy.linalg  # noqa: F401  (scipy's own OpenBLAS loaded too)

from rigsync.core import blas


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the libraries are found in /proc/self/maps")
def test_one_thread_inside_restored_after() -> None:
    pools = blas._pools()
    assert pools, "numpy's OpenBLAS not found"
    before = [get() for get, _ in pools]
    with pytest.raises(RuntimeError), blas.one_blas_thread():
        assert [get() for get, _ in pools] == [1] * len(pools)
        assert float(np.ones(50_000) @ np.ones(50_000)) == 50_000.0
        raise RuntimeError
    assert [get() for get, _ in pools] == before
