"""What the benchmarks share: thread counts, a median timer, the machine's description, and
running a command with PyTorch held to an instruction set.

Every benchmark prints ``machine()`` first: the CPU model, the vector instruction sets it
has, the ones PyTorch's three kernel libraries actually use (ATen, oneDNN, MKL), the
threads and the date. ``ISA["avx2"]`` is the environment that holds all three to AVX2 on
a CPU that has AVX-512 (MKL ignores the other two settings and needs its own);
``check_isa`` refuses to measure when a setting did not take.

    .venv/bin/python benchmarks/timing.py      # the limits, natively and held to AVX2
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import sys
import time

#: environments for the two instruction sets measured: the CPU's own, and AVX2 only
ISA = {"native": {}, "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2",
                              "MKL_ENABLE_INSTRUCTIONS": "AVX2"}}


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


#: a child that runs one oneDNN convolution and one MKL product with both libraries' verbose output on
_PROBE = ("import torch, torch.nn.functional as F\n"
          "with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):\n"
          "    F.conv2d(torch.randn(8, 64, 8, 8).contiguous(memory_format=torch.channels_last),\n"
          "             torch.randn(64, 64, 3, 3).contiguous(memory_format=torch.channels_last))\n"
          "a = torch.randn(256, 256); a @ a\n"
          "print('aten', torch.backends.cpu.get_cpu_capability())\n")


def kernels_in_use() -> dict:
    """The instruction set each of PyTorch's kernel libraries uses in this environment:
    ATen's capability, oneDNN's ISA and MKL's (from their verbose lines, in a child; MKL
    names its instruction set on Intel CPUs only, and runs AVX2 code on AMD ones)."""
    out = subprocess.run([sys.executable, "-c", _PROBE], env={**os.environ, "MKL_VERBOSE": "1"},
                         capture_output=True, text=True, timeout=120).stdout
    aten = re.search(r"^aten (\S+)", out, re.M)
    onednn = re.search(r"onednn_verbose,.*isa:([^\n]+)", out)
    mkl = re.search(r"MKL_VERBOSE oneMKL.*? with (.*?)(?:,|$)", out, re.M)
    return {"aten": aten.group(1) if aten else "unknown", "onednn": onednn.group(1).strip() if onednn else "unknown",
            "mkl": mkl.group(1).strip() if mkl else "not stated"}


def check_isa(isa: str) -> dict:
    """The kernels in use; exit with the reason when ``isa`` is avx2 and a library still
    uses AVX-512 (a setting of ``ISA["avx2"]`` that did not take)."""
    used = kernels_in_use()
    if isa == "avx2":
        wrong = [f"{lib} uses {name}" for lib, name in used.items() if "512" in name or "AMX" in name.upper()]
        if wrong or used["aten"] != "AVX2":
            sys.exit(f"held to AVX2, but {'; '.join(wrong) or 'ATen uses ' + used['aten']}: a setting of "
                     f"{ISA['avx2']} did not take")
    return used


def machine() -> str:
    """One line naming the CPU, its vector flags, the kernels PyTorch's libraries use, the
    threads and the date."""
    import torch

    used = check_isa("avx2" if os.environ.get("ONEDNN_MAX_CPU_ISA") == "AVX2" else "native")
    return (f"# {cpu_description()}; PyTorch {torch.__version__}: ATen {used['aten']}, oneDNN {used['onednn']}, "
            f"MKL {used['mkl']} ({torch.get_num_threads()} threads); {time.strftime('%Y-%m-%d')}")


def sgemm_gflops(n: int = 4096, repeats: int = 5, dtype=None) -> float:
    """The cores' practical limit in ``dtype`` (float32 unless given): the faster of
    PyTorch's n × n matrix product (MKL for float32, which on AMD CPUs runs AVX2 code;
    oneDNN for bfloat16) and the same product as a 1 × 1 convolution in channels_last
    (oneDNN, which uses AVX-512 and the bfloat16 instructions where it may)."""
    import torch
    import torch.nn.functional as F

    dtype = dtype or torch.float32
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    matmul = time_it(lambda: a @ b, repeats)
    x = torch.randn(n // 64, n, 8, 8, dtype=dtype).contiguous(memory_format=torch.channels_last)  # n positions × n
    w = torch.randn(n, n, 1, 1, dtype=dtype).contiguous(memory_format=torch.channels_last)
    conv = time_it(lambda: F.conv2d(x, w), repeats)
    return 2 * n**3 / min(matmul, conv) / 1e9


def limits() -> None:
    """The float32 and bfloat16 limits in this environment, one table row (a child's job)."""
    import torch

    isa = os.environ.get("_BACKPROPLAB_ISA", "native")
    used = check_isa(isa)
    torch.set_num_threads(os.cpu_count())
    fp32 = sgemm_gflops()
    bf16 = sgemm_gflops(1024, 2, torch.bfloat16)  # 1024: an emulated product takes a second, not minutes
    print(f"| {isa} | {used['aten']} | {used['onednn']} | {used['mkl']} | {fp32:.0f} | {bf16:.0f} | "
          f"{bf16 / fp32:.2f} |", flush=True)


def main() -> None:
    if os.environ.get("_BACKPROPLAB_ISA"):
        limits()
        return
    import torch

    print(f"# {cpu_description()}; PyTorch {torch.__version__}, {os.cpu_count()} threads; "
          f"{time.strftime('%Y-%m-%d')}")
    print("| held to | ATen | oneDNN | MKL | float32 limit (GFLOP/s) | bfloat16 limit (GFLOP/s) | bf16 / fp32 |")
    print("|---|---|---|---|---:|---:|---:|")
    fp32 = {"native": [], "avx2": []}
    for isa in ("native", "avx2", "native", "avx2"):  # alternated, twice
        env = {**os.environ, **ISA[isa], "_BACKPROPLAB_ISA": isa}
        row = subprocess.run([sys.executable, __file__], env=env, check=True, capture_output=True, text=True).stdout
        print(row, end="", flush=True)
        fp32[isa].append(float(row.split("|")[5]))
    if "avx512f" in cpu_description():
        took = max(fp32["avx2"]) < min(fp32["native"])
        print(f"# held to AVX2 the float32 limit {'drops' if took else 'DOES NOT DROP'}: "
              f"{max(fp32['avx2']):.0f} vs {min(fp32['native']):.0f} GFLOP/s natively")
        sys.exit(0 if took else 1)


if __name__ == "__main__":
    main()
