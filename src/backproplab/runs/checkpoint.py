"""Checkpoints of the PyTorch pipelines: one file holds everything resuming needs.

A checkpoint is a dict of tensors and plain values (model and optimizer state dicts,
the epoch, the metric rows so far, the numpy and torch RNG states, the config), saved
with ``torch.save`` to a temporary name and renamed, and loaded only with
``torch.load(..., weights_only=True)`` so a checkpoint file cannot run code.
torch is imported here lazily: the rest of ``runs`` does not need it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .folder import atomic_path


def save_checkpoint(path: str | Path, state: dict) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path: str | Path) -> dict:
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise FileNotFoundError(f"no checkpoint at {path}: nothing to resume; start without --resume") from None
    except Exception as err:  # a corrupt or foreign file: refuse it with a clear message
        raise ValueError(f"{path} is not a readable backproplab checkpoint ({type(err).__name__}: {err})") from None


def rng_states(numpy_rng: np.random.Generator) -> dict:
    import torch

    states = {"numpy": numpy_rng.bit_generator.state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(numpy_rng: np.random.Generator, states: dict) -> None:
    import torch

    numpy_rng.bit_generator.state = states["numpy"]
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
