"""What the benchmarks share: thread counts, a median timer, the machine's description, and
running a command with PyTorch held to an instruction set.

Every benchmark prints ``machine()`` first: the CPU model, the vector instruction sets it
has, the one PyTorch actually uses, and the core count. ``ISA["avx2"]`` is the environment
that holds PyTorch (ATen and oneDNN) to AVX2 on a CPU that has AVX-512; ``machine()``
reports whether it took effect.
"""

from __future__ import annotations

import os
import platform
import statistics
import time

#: environments for the two instruction sets measured: the CPU's own, and AVX2 only
ISA = {"native": {}, "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}}


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


def cpu_description() -> str:
    model, flags = platform.processor() or platform.machine(), set()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name") and model in (platform.machine(), ""):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    vector = [f for f in ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_tile") if f in flags]
    return f"{model} ({os.cpu_count()} cores; {', '.join(vector) or 'flags unknown'})"


def machine() -> str:
    """One line naming the CPU, its vector flags, and what PyTorch uses."""
    import torch

    return (f"# {cpu_description()}; PyTorch {torch.__version__} uses {torch.backends.cpu.get_cpu_capability()} "
            f"({torch.get_num_threads()} threads); {time.strftime('%Y-%m-%d')}")


def sgemm_gflops(n: int = 4096, repeats: int = 5) -> float:
    """The cores' practical float32 limit: the faster of PyTorch's n × n matrix product (MKL,
    which on AMD CPUs runs AVX2 code) and the same product as a 1 × 1 convolution in
    channels_last (oneDNN, which uses AVX-512 where it may)."""
    import torch
    import torch.nn.functional as F

    a, b = torch.randn(n, n), torch.randn(n, n)
    matmul = time_it(lambda: a @ b, repeats)
    x = torch.randn(n // 64, n, 8, 8).contiguous(memory_format=torch.channels_last)  # n positions × n channels
    w = torch.randn(n, n, 1, 1).contiguous(memory_format=torch.channels_last)
    conv = time_it(lambda: F.conv2d(x, w), repeats)
    return 2 * n**3 / min(matmul, conv) / 1e9
