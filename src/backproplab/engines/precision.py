"""The arithmetic of a PyTorch run: ``--precision auto|fp32|bf16``.

``bf16`` runs the forward pass and the loss under ``torch.autocast`` in bfloat16: the
convolutions and matrix products take bfloat16 inputs; the weights, the optimizer's state,
BatchNorm's statistics, the loss and every checkpoint stay float32 (autocast, never
``.bfloat16()`` on the model). ``auto`` takes bf16 where the device computes it natively
and fp32 elsewhere, so that no machine gets slower:

- CUDA: bf16 where ``torch.cuda.is_bf16_supported()``;
- CPU: the CPU must have a bfloat16 instruction (``avx512_bf16``, ``amx_bf16`` on x86;
  ``bf16`` on Arm) *and* a probe of about 60 ms (``bf16_speedup``) must find a bfloat16
  matrix product at least 1.3× as fast as a float32 one. The flag alone is not enough: with
  PyTorch held to AVX2 (``ONEDNN_MAX_CPU_ISA=AVX2``) the same CPU emulates bfloat16 at a
  fifth to a hundredth of float32's speed.

The choice is made once, before the run is named, and recorded in config.json with the
reason (``precision_reason``); ``--resume`` takes the recorded one.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from pathlib import Path
from typing import Callable

import torch

from ..runs.files import RunFileError, read_json

#: the bfloat16 instructions that make ``auto`` try bf16 on a CPU (x86 and Arm flag names)
BF16_FLAGS = ("avx512_bf16", "amx_bf16", "bf16")
#: how much faster a bfloat16 product must run than a float32 one for ``auto`` to take it
MIN_SPEEDUP = 1.3


def choose(name: str, device: torch.device) -> tuple[str, str]:
    """("fp32" or "bf16", why) for ``--precision name`` on ``device``."""
    if name in ("fp32", "bf16"):
        return name, "asked for"
    if device.type == "cuda":
        ok = torch.cuda.is_bf16_supported()
        return ("bf16", "the GPU computes bfloat16") if ok else ("fp32", "the GPU has no bfloat16 arithmetic")
    flags = cpu_bf16_flags()
    if not flags:
        return "fp32", "the CPU has no bfloat16 instruction (avx512_bf16, amx_bf16)"
    speedup = bf16_speedup(torch.get_num_threads())
    why = f"{'/'.join(flags)}; a bfloat16 matrix product ran {speedup:.2f}x as fast as float32"
    return ("bf16", why) if speedup >= MIN_SPEEDUP else ("fp32", why + f" (under {MIN_SPEEDUP}x)")


def for_run(c, device: torch.device, options, name_of: Callable) -> tuple[str, str]:
    """``choose`` for a run's config ``c`` (its ``precision`` setting), except that ``auto``
    keeps float32 for a profile its config class lists in ``AUTO_KEEPS_FP32``, and, when
    resuming with ``auto``, takes the precision the interrupted run recorded (found under
    the name it would have had with each precision): a run never changes arithmetic half-way."""
    profile = getattr(c, getattr(type(c), "PROFILE_KEY", ""), None)
    if c.precision == "auto" and profile in getattr(type(c), "AUTO_KEEPS_FP32", ()):
        return "fp32", f"auto keeps float32 for the {profile} profile: bfloat16 was measured less accurate there"
    if c.precision == "auto" and options.resume:
        for precision in ("bf16", "fp32"):
            name = options.name or name_of(dataclasses.replace(c, precision=precision))
            try:  # bounded: a run folder is untrusted text
                saved = read_json(Path(options.out) / f"{name}.partial" / "config.json")
            except (OSError, RunFileError):
                continue
            if saved.get("precision") in ("bf16", "fp32"):
                return saved["precision"], "kept from the interrupted run"
    return choose(c.precision, device)


def autocast_dtype(precision: str) -> torch.dtype | None:
    """The dtype ``torch.autocast`` runs in (None: no autocast, float32 throughout)."""
    return torch.bfloat16 if precision == "bf16" else None


def cpu_bf16_flags() -> list[str]:
    """The CPU's bfloat16 instruction flags, from /proc/cpuinfo (none where it cannot be read)."""
    try:
        with open("/proc/cpuinfo") as f:
            line = next((ln for ln in f if ln.startswith(("flags", "Features"))), "")
    except OSError:
        return []
    have = set(line.partition(":")[2].split())
    return [flag for flag in BF16_FLAGS if flag in have]


@functools.cache
def bf16_speedup(threads: int) -> float:
    """float32 time / bfloat16 time of a matrix product on the CPU (``threads`` only keys the
    cache: measured once per process and thread count). A verdict under ``MIN_SPEEDUP`` that
    is not plainly emulation is measured a second time and the better one kept: on a shared
    machine a few milliseconds taken by a neighbour must not decide a whole run."""
    speedup = _probe()
    if 0.1 < speedup < MIN_SPEEDUP:
        speedup = max(speedup, _probe())
    return speedup


def _probe(n: int = 512, rounds: int = 6, burst: float = 0.004) -> float:
    """Alternate bursts of n × n float32 and bfloat16 products (``rounds`` of each, about
    ``burst`` seconds a burst, after one warm-up call each) and compare the fastest call of
    each: alternating, a slow stretch of the machine hits both sides, never all of one. An
    emulated bfloat16 product (ten times slower or worse) ends the probe at once."""
    a = torch.randn(n, n)
    sides = (a, a.bfloat16())
    best = [float("inf"), float("inf")]
    for x in sides:
        torch.mm(x, x)  # the kernels chosen and built
    for _ in range(rounds):
        for i, x in enumerate(sides):
            spent = 0.0
            while spent < burst:
                t = time.perf_counter()
                torch.mm(x, x)
                took = time.perf_counter() - t
                best[i], spent = min(best[i], took), spent + took
        if best[1] > 10 * best[0]:
            break
    return best[0] / best[1]
