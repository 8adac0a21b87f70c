"""Choosing the torch device and thread count for the PyTorch pipelines."""

from __future__ import annotations

import os


def choose_device(name: str):
    """"cpu", "cuda" or "auto" (cuda when available) → torch.device; clear error otherwise."""
    import torch

    if name not in ("cpu", "cuda", "auto"):
        raise ValueError(f"--device must be cpu, cuda or auto; got {name!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for but torch sees no CUDA GPU; use --device cpu or auto")
    if name == "cpu":
        torch.set_num_threads(os.cpu_count() or 1)  # every core
    else:
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
    return torch.device(name)
