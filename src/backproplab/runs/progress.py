"""The one progress display every pipeline uses (tqdm on stderr)."""

from __future__ import annotations

import os

from tqdm.auto import tqdm


def progress(total: float, desc: str, unit: str = "epoch", enabled: bool = True, scale: bool = False):
    """A progress bar; BACKPROPLAB_PROGRESS=0 turns all bars off (as the tests do).

    Epoch bars move by fractions of an epoch (every batch) and show one decimal;
    ``scale`` shows large counts (bytes) as k/M/G."""
    disable = not enabled or os.environ.get("BACKPROPLAB_PROGRESS", "1") == "0"
    fractional = "{l_bar}{bar}| {n:.1f}/{total_fmt} {unit}s [{elapsed}<{remaining}{postfix}]"
    return tqdm(total=total, desc=desc, unit=unit, disable=disable, dynamic_ncols=True, leave=True,
                unit_scale=scale, bar_format=None if scale or unit != "epoch" else fractional)


def write(message: str) -> None:
    """Print a line without breaking an active progress bar."""
    tqdm.write(message)
