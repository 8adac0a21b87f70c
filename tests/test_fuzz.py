"""Every reader of untrusted files, fuzzed with random and mutated bytes (hypothesis) in a
process whose memory is capped: only the project's own errors escape, and no input makes
a reader allocate what its bytes do not back (the cap would turn that into MemoryError).
The hand-made bombs that once cost gigabytes (a gzip bomb, a header whose size wraps
past 2^64, a pickle calling ndarray(shape), a zlib codec, a .npy claiming 10^9 rows) are
each refused with their message. The harness is tests/fuzz_readers.py."""

import os
import resource
import subprocess
import sys
from pathlib import Path

#: the address space the fuzzing process may use: Python, numpy, matplotlib and hypothesis
#: take about 1 GiB of it; a reader that believed a hostile header would need several more
MEMORY_CAP = 2 * 2**30


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def test_readers_survive_fuzzing_under_a_memory_cap(tmp_path):
    harness = Path(__file__).with_name("fuzz_readers.py")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "PYTHONPATH": str(harness.parent)}
    result = subprocess.run([sys.executable, str(harness), str(tmp_path), "200"], env=env, capture_output=True,
                            text=True, preexec_fn=_cap_memory, timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    for reader in ("idx", "cifar_batch", "npy", "csv", "run_folders"):
        assert f"fuzz_{reader}: 200 inputs, only the project's own errors" in result.stdout
