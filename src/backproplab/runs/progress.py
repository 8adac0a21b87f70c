"""The one progress display every pipeline uses (tqdm on stderr)."""

from __future__ import annotations

import os

from tqdm.auto import tqdm


def progress(total: int, desc: str, unit: str = "epoch", enabled: bool = True):
    """A progress bar; BACKPROPLAB_PROGRESS=0 turns all bars off (as the tests do)."""
    disable = not enabled or os.environ.get("BACKPROPLAB_PROGRESS", "1") == "0"
    return tqdm(total=total, desc=desc, unit=unit, disable=disable, dynamic_ncols=True, leave=True)


def write(message: str) -> None:
    """Print a line without breaking an active progress bar."""
    tqdm.write(message)
