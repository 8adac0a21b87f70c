"""The one progress display every pipeline and download uses, fitted to where it goes:

- on a terminal, a tqdm bar on stderr that moves with every batch;
- in a notebook, tqdm's widget (where ipywidgets is installed);
- piped or redirected (``make run > log.txt``), one plain line per epoch (per tenth of a
  download), never carriage-return updates (a sweep shows no bar of its members' epochs:
  it writes a line per member, unless ``--verbose``);
- turned off (``--no-progress``, ``BACKPROPLAB_PROGRESS=0``), nothing at all.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time


class Silent:
    """A progress display that shows nothing (the bar's methods, doing nothing)."""

    n: float = 0

    def update(self, amount: float = 1) -> None:
        self.n += amount

    def refresh(self) -> None:
        pass

    def set_postfix(self, values: dict) -> None:
        pass

    def close(self) -> None:
        pass


class Lines(Silent):
    """One line per finished unit (per epoch with its metrics; a tenth of a byte count)."""

    def __init__(self, total: float, desc: str, unit: str, scale: bool) -> None:
        self.total, self.desc, self.unit, self.scale = total, desc, unit, scale
        self.n, self.shown, self.start = 0, 0, time.monotonic()

    def _say(self, text: str) -> None:
        print(f"{self.desc}: {text} [{time.monotonic() - self.start:.0f} s]", file=sys.stderr, flush=True)

    def update(self, amount: float = 1) -> None:
        self.n += amount
        if self.unit == "epoch":  # an epoch is reported with its metrics, by set_postfix
            return
        step = self.total / 10 if self.scale and self.total else 1
        if self.n >= self.shown + step or (self.total and self.n >= self.total > self.shown):
            self.shown = self.n
            done = f"{self.n / 2**20:.0f} of {self.total / 2**20:.0f} MB" if self.scale else \
                f"{self.n:.0f}/{self.total:.0f} {self.unit}s"
            self._say(done)

    def set_postfix(self, values: dict) -> None:
        metrics = " ".join(f"{k} {v}" for k, v in values.items())
        self._say(f"{self.unit} {self.n:.0f}/{self.total:.0f} {metrics}")


def _where() -> str:
    if "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is not None:
        return "notebook"
    return "terminal" if sys.stderr.isatty() else "lines"


def progress(total: float, desc: str, unit: str = "epoch", enabled: bool = True, scale: bool = False):
    """A progress display for ``total`` units; epochs move by fractions (every batch) and
    show one decimal; ``scale`` shows large counts (bytes) as k/M/G."""
    if not enabled or os.environ.get("BACKPROPLAB_PROGRESS", "1") == "0":
        return Silent()
    where = _where()
    if where == "lines":
        return Lines(total, desc, unit, scale)
    if where == "notebook":
        from tqdm.notebook import tqdm
    else:
        from tqdm import tqdm
    fractional = "{l_bar}{bar}| {n:.1f}/{total_fmt} {unit}s [{elapsed}<{remaining}{postfix}]"
    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=True, unit_scale=scale,
                bar_format=None if scale or unit != "epoch" or where == "notebook" else fractional)


def write(message: str) -> None:
    """Print a line without breaking an active progress bar."""
    from tqdm import tqdm

    tqdm.write(message)
