"""Reading the values a finished run recorded, as the report, the runs table and the bars
read them: a number only when it is a finite number (a run folder is untrusted text), and
a fraction shown as a percentage.

``run`` is anything with ``get(key)`` that looks in summary.json, then config.json (the
report's ``ReportRun``).
"""

from __future__ import annotations

import math


def number(run, key: str) -> float | None:
    """A finite number from the run's summary or config (None when absent, not a number,
    or not a finite float: a 400-digit integer, 1e999)."""
    return finite(run.get(key))


def finite(value) -> float | None:
    """``value`` as a float when it is a finite number (never a bool), else None."""
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except OverflowError:
        return None
    return value if math.isfinite(value) else None


def pct(x: float | None, digits: int = 2) -> str:
    """A fraction as a percentage ("91.06%"); "—" for None."""
    return "—" if x is None else f"{100 * x:.{digits}f}%"


#: a PyTorch run's ``--precision`` as the result line and the report say it
PRECISION_WORDS = {"fp32": "float32", "bf16": "bfloat16 autocast"}


def precision_words(value) -> str:
    """A recorded precision in words: "bfloat16 autocast" for bf16; other text as it is."""
    return PRECISION_WORDS.get(value, value) if isinstance(value, str) else ""
