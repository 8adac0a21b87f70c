"""What the timing benchmarks share: one thread count for every library, and a median timer."""

from __future__ import annotations

import os
import statistics
import time


def use_threads(n: int) -> None:
    """Give NumPy's BLAS n threads (read when numpy is first imported) and torch the same."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    import torch

    torch.set_num_threads(n)


def time_it(fn, repeats: int) -> float:
    """The median wall time of ``repeats`` calls, after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)
