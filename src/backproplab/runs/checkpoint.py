"""Checkpoint files: one file holds everything resuming needs, in either engine.

Both engines store the same things: the model's parameters, the optimizer's state,
the RNG states, and a ``meta`` dict (epoch, metric rows, seconds spent, the settings,
the best epoch). They differ only in the container:

- PyTorch: ``torch.save`` of one dict, loaded only with ``torch.load(...,
  weights_only=True)``, so a checkpoint file cannot run code;
- NumPy: an ``.npz`` of arrays (``model.*``, ``optimizer.*``, ``best.*``) plus the JSON
  text ``__meta__``, loaded with ``allow_pickle=False``.

Both are written to a temporary name and renamed, so a kill mid-write leaves the last
complete checkpoint. torch is imported only by the two torch functions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..errors import RunError
from .files import atomic_path

FORMAT = "backproplab-checkpoint/1"


def save_torch(path: str | Path, state: dict) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)


def _checked(path, read):
    """``read()``'s result; a missing, corrupt or foreign checkpoint is refused with the reason."""
    try:
        state = read()
    except Exception as err:  # a missing, cut or foreign file
        raise RunError(f"{path} is not a readable backproplab checkpoint ({type(err).__name__}: {err}); "
                       "start the run again with --overwrite") from None
    meta = state[1] if isinstance(state, tuple) else state
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise RunError(f"{path} is not a backproplab checkpoint (no format tag); start the run again with --overwrite")
    return state


def load_torch(path: str | Path) -> dict:
    import torch

    return _checked(path, lambda: torch.load(path, map_location="cpu", weights_only=True))


def save_numpy(path: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, __meta__=np.array(json.dumps({"format": FORMAT, **meta})), **arrays)


def load_numpy(path: str | Path) -> tuple[dict[str, np.ndarray], dict]:
    def read():
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
        return arrays, json.loads(str(arrays.pop("__meta__")))

    return _checked(path, read)
