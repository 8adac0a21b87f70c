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

import io
import json
import math
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from ..bounded import open_regular
from ..errors import RunError
from .advice import command_with
from .files import atomic_path

FORMAT = "backproplab-checkpoint/1"
#: the checkpoint's own record (epoch, metric rows, settings): kilobytes in practice
MAX_META_BYTES = 16 * 2**20
#: room for a .npy header beside an array's bytes
NPY_HEADER = 1024


class DamagedCheckpoint(RunError):
    """A checkpoint that is not what backproplab writes for this run: resuming cannot help."""

    resuming_cannot_help = True  # the run folder adds no "continue it with --resume" advice

    def __init__(self, path, what: str) -> None:
        super().__init__(f"{path} cannot be resumed: {what}. Start the run again with {command_with('--overwrite')}")


def save_torch(path: str | Path, state: dict) -> None:
    import torch

    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **state}, tmp)


def _members(f, path, allowed: Callable[[str], int | None]) -> None:
    """Refuse a zip (an .npz, a .pt) whose members are not what ``allowed`` permits: a member
    ``allowed`` does not know (None), or larger than the bytes it allows, once inflated."""
    try:
        members = zipfile.ZipFile(f).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise DamagedCheckpoint(path, f"it is not a readable checkpoint ({err})") from None
    for m in members:
        limit = allowed(m.filename)
        if limit is None:
            raise DamagedCheckpoint(path, f"it holds {m.filename!r}, which this run's checkpoint never holds")
        if m.file_size > limit:
            raise DamagedCheckpoint(path, f"{m.filename!r} inflates to {m.file_size:,} bytes, more than the "
                                          f"{limit:,} this run's checkpoint holds there")
    f.seek(0)


def load_torch(path: str | Path, max_bytes: int) -> dict:
    """A PyTorch checkpoint (weights only: no code runs) of at most ``max_bytes`` inflated."""
    import torch

    with open_regular(path, RunError, "checkpoint") as f:
        _members(f, path, lambda name: max_bytes)
        total = sum(m.file_size for m in zipfile.ZipFile(f).infolist())
        f.seek(0)
        if total > max_bytes:
            raise DamagedCheckpoint(path, f"it inflates to {total:,} bytes, more than this run's {max_bytes:,}")
        try:
            state = torch.load(f, map_location="cpu", weights_only=True)
        except Exception as err:  # a cut or foreign file, whatever torch makes of it
            raise DamagedCheckpoint(path, f"it is not a readable checkpoint ({type(err).__name__}: {err})") from None
    return _tagged(path, state)


def save_numpy(path: str | Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, __meta__=np.array(json.dumps({"format": FORMAT, **meta})), **arrays)


def load_numpy(path: str | Path, allowed: Callable[[str], int | None]) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and the record of an .npz checkpoint; ``allowed(key)`` is the most bytes
    the array ``key`` may hold (None: the run's checkpoint has no such array)."""
    def member_limit(name: str) -> int | None:
        key = name[:-4] if name.endswith(".npy") else name
        if key == "__meta__":
            return MAX_META_BYTES
        limit = allowed(key)
        return None if limit is None else limit + NPY_HEADER

    with open_regular(path, RunError, "checkpoint") as f:
        _members(f, path, member_limit)
        data = io.BytesIO(f.read())
    try:
        with np.load(data, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
        meta = json.loads(str(arrays.pop("__meta__")))
    except Exception as err:  # a cut or foreign file, whatever numpy makes of it
        raise DamagedCheckpoint(path, f"it is not a readable checkpoint ({type(err).__name__}: {err})") from None
    return arrays, _tagged(path, meta)


def _tagged(path, meta) -> dict:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise DamagedCheckpoint(path, "it is not a backproplab checkpoint (no format tag)")
    return meta


def check_record(path, meta: dict, epochs: int) -> None:
    """The record ``fit_epochs`` resumes from must be one it wrote for this run: the epoch a
    whole number in 0..epochs, one metrics row per epoch, times finite and >= 0."""
    epoch = meta.get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or not 0 <= epoch <= epochs:
        raise DamagedCheckpoint(path, f"its epoch is {epoch!r}, not a whole number from 0 to {epochs}")
    rows = meta.get("rows")
    if not isinstance(rows, list) or len(rows) != epoch or not all(isinstance(r, dict) for r in rows):
        raise DamagedCheckpoint(path, f"it should hold one metrics row per finished epoch ({epoch})")
    for key in ("wall", "train_seconds", "eval_seconds"):
        value = meta.get(key)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
            raise DamagedCheckpoint(path, f"its {key} is {value!r}, not a number of seconds")
    best = meta.get("best")
    if best is not None and not (isinstance(best, dict) and isinstance(best.get("epoch"), int)):
        raise DamagedCheckpoint(path, "its best epoch is not a record backproplab writes")
