"""What a run records about the machine and software it ran on (config.json's
``versions``, ``machine`` and ``started``), and how the report names that machine beside a
timed number.

Nothing here changes the process: the CPU is read from ``/proc/cpuinfo`` (Linux) or the
platform module, NumPy's BLAS and SIMD from ``numpy.show_config``.
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata

from .values import precision_words

#: the CPU flags that decide which kernels run (x86: SSE to AMX; Arm: NEON to SVE2), as
#: /proc/cpuinfo names them; the others are not recorded
KERNEL_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "asimd", "sve", "sve2")


def versions() -> dict:
    out = {"python": sys.version.split()[0], "platform": platform.platform(), "cpu_count": os.cpu_count()}
    for package in ("backproplab", "numpy", "torch", "matplotlib"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return out


def started() -> str:
    """Now, in UTC, to the second (when a run started)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ({} elsewhere)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 20)
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n")[0].splitlines():
        key, _, value = line.partition(":")
        fields.setdefault(key.strip(), value.strip())
    return fields


def usable_cores() -> int:
    """The cores this process may run on (its affinity), else every core."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def machine() -> dict:
    """The CPU (model, family, the kernel-deciding flags), the cores this process may use,
    and NumPy's BLAS, its SIMD extensions and the BLAS threads asked for."""
    info = _cpuinfo()
    flags = set((info.get("flags") or info.get("Features") or "").split())
    out = {"cpu": info.get("model name") or platform.processor() or platform.machine(),
           "cpu_flags": [f for f in KERNEL_FLAGS if f in flags], "cores": usable_cores()}
    if info.get("cpu family") and info.get("model"):
        out["cpu_family_model"] = f"family {info['cpu family']} model {info['model']}"
    try:
        import numpy as np

        config = np.show_config(mode="dicts")
        blas = config.get("Build Dependencies", {}).get("blas", {})
        out["numpy_blas"] = f"{blas.get('name', '?')} {blas.get('version', '')}".strip()
        out["numpy_simd"] = list(config.get("SIMD Extensions", {}).get("found", []))
    except Exception:  # a NumPy without show_config's dicts: the rest is still recorded
        pass
    asked = os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS")
    out["blas_threads"] = int(asked) if asked and asked.isdigit() else out["cores"]
    return out


# -- naming the machine beside a timed number ----------------------------------------------


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def hardware_label(config: dict) -> str:
    """The machine a run recorded, in a few words: "AMD EPYC (family 25 model 17), 2 cores",
    or its GPU. A run written before machines were recorded is named by its platform."""
    m = config.get("machine") if isinstance(config.get("machine"), dict) else {}
    v = config.get("versions") if isinstance(config.get("versions"), dict) else {}
    device = _text(config.get("device"))
    if device.startswith("cuda"):
        devices = config.get("devices")
        return f"GPU {devices[0] if isinstance(devices, list) and devices and isinstance(devices[0], str) else device}"
    cpu = _text(m.get("cpu")) or _text(v.get("platform")) or "an unrecorded CPU"
    family = _text(m.get("cpu_family_model"))
    cores = m.get("cores", v.get("cpu_count"))
    words = [f"{cpu} ({family})" if family else cpu]
    if isinstance(cores, int) and not isinstance(cores, bool):
        words.append(f"{cores} cores")
    return ", ".join(words)


def machine_label(config: dict) -> str:
    """``hardware_label`` and how the run used it: "…, PyTorch AVX2 kernels, 2 threads" (and
    ", bfloat16 autocast" for a bf16 run), or "…, NumPy with scipy-openblas 0.3.31"."""
    words = [hardware_label(config)]
    m = config.get("machine") if isinstance(config.get("machine"), dict) else {}
    capability, threads = _text(config.get("cpu_capability")), config.get("threads")
    if capability and not _text(config.get("device")).startswith("cuda"):
        words.append(f"PyTorch {capability} kernels")
    elif _text(config.get("device")).startswith("cpu (numpy"):
        words.append(f"NumPy with {_text(m.get('numpy_blas')) or 'its BLAS'}")
    if isinstance(threads, int) and not isinstance(threads, bool):
        words.append(f"{threads} threads")
    if config.get("precision") == "bf16":
        words.append(precision_words("bf16"))
    return ", ".join(words)
