"""What the launcher told this process: torchrun's environment variables, read here and
nowhere else. Without torchrun a process is rank 0 of a job of one.

torchrun sets ``WORLD_SIZE`` (processes in the job), ``RANK`` (this one's number),
``LOCAL_RANK`` and ``LOCAL_WORLD_SIZE`` (the same on this machine). Standard library only:
the entry point (``__main__``) and the torch-free modules read it too.
"""

from __future__ import annotations

import os


def _integer(name: str, default: int) -> int:
    return int(os.environ.get(name, str(default)))


def world_size() -> int:
    """How many processes torchrun started for this job (1 without torchrun)."""
    return _integer("WORLD_SIZE", 1)


def launched_by_torchrun() -> bool:
    """Whether this process is one of several that torchrun started."""
    return world_size() > 1 and "RANK" in os.environ


def rank() -> int:
    """This process's rank in the job (0 without torchrun): only rank 0 writes anything."""
    return _integer("RANK", 0) if world_size() > 1 else 0


def local_rank() -> int:
    """This process's rank on its machine (its GPU under torchrun)."""
    return _integer("LOCAL_RANK", 0)


def local_world_size() -> int:
    """How many of the job's processes run on this machine."""
    return _integer("LOCAL_WORLD_SIZE", 1)
