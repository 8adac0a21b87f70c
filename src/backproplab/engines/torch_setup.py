"""Setting PyTorch up for a run, the same for every PyTorch pipeline: the device, the
process group under torchrun (left again when the run ends), the CPU threads, the seed,
and the model placed on its device. Called at the start of a PyTorch run (never on import)."""

from __future__ import annotations

import os

import numpy as np
import torch

from .. import settings
from ..errors import UsageError
from ..launch import local_world_size
from .distributed import Dist, leave_process_group


def choose_device(name: str) -> torch.device:
    """"cpu", "cuda" or "auto" (cuda when available) → torch.device; clear error otherwise."""
    if name not in ("cpu", "cuda", "auto"):
        raise UsageError(f"--device must be cpu, cuda or auto; got {name!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for but torch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(name)


def start_torch(c, run=None) -> tuple[torch.device, Dist, np.random.Generator]:
    """(device, process group, shuffle Generator) for a run of config ``c`` (its device,
    threads and seed), with torch seeded. Under torchrun, ``run`` leaves the process group
    when it ends (``Run.on_close``), and every process must have resolved the same
    settings that change the result (``Dist.agree``), the precision ``auto`` chose included.

    CPU threads: ``c.threads``, or every core shared evenly among the processes torchrun
    started on this machine. torch's generator is seeded with the seed in every process,
    so every process builds the same initial model; ``Dist.split_random_streams`` then
    gives each process its own dropout and augmentation stream. The shuffle Generator is
    seeded with the seed alone, so every process cuts the same global batches.
    """
    device = choose_device(c.device)
    dist = Dist.from_env(device.type)
    if dist.world > 1 and run is not None:
        run.on_close(leave_process_group)
    dist.agree(settings.result_values(c))
    if device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick its fastest kernels
    else:
        torch.set_num_threads(c.threads or max(1, (os.cpu_count() or 1) // local_world_size()))
    torch.manual_seed(c.seed)
    return device, dist, np.random.default_rng(c.seed)


def place_model(model: torch.nn.Module, device: torch.device, dist: Dist, seed: int,
                channels_last: bool = False) -> torch.nn.Module:
    """The model on its device (in channels_last memory if asked), its BatchNorm synchronised
    across GPUs under torchrun; then each process draws its own dropout and augmentation
    stream (``Dist.split_random_streams``), the initial weights being equal in all of them."""
    model = model.to(device, memory_format=torch.channels_last) if channels_last else model.to(device)
    if dist.world > 1 and device.type == "cuda":
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)  # batch statistics over every GPU
    dist.split_random_streams(seed)
    return model


def describe(device: torch.device, dist: Dist) -> dict:
    """What config.json records about where the run trained: the device, the processes, the
    CPU threads and the instruction set PyTorch's kernels use (the precision is a setting)."""
    devices = [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())] \
        if device.type == "cuda" else ["cpu"]
    return {"device": str(device), **dist.describe(), "devices": devices,
            "threads": torch.get_num_threads() if device.type == "cpu" else None,
            "cpu_capability": torch.backends.cpu.get_cpu_capability()}
