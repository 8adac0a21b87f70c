"""``backproplab runs``: run folders side by side — the settings that differ between
them, and their results — printed as a table and optionally written as CSV/Markdown.

A folder that cannot be read gets a row saying why; the other rows are still shown.
"""

from __future__ import annotations

from pathlib import Path

from ..runs.files import csv_text, write_text
from .collect import collect, number
from .doc import md_escape

#: results shown for every run, when it has them
RESULTS = ["test_accuracy", "final_val_accuracy", "epochs", "train_seconds", "wall_seconds"]
#: config.json keys that describe the machine or the software, not the settings
NOT_SETTINGS = {"versions", "splits", "pipeline", "channel_mean", "channel_std", "cpu_capability", "threads",
                "classes", "features", "device", "world_size", "backend", "data_dir", "download"}


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ",".join(_show(v) for v in value)
    return "" if value is None else str(value)


def table_rows(dirs: list[str | Path]) -> tuple[list[str], list[list[str]]]:
    runs, problems = collect(dirs)
    settings = sorted({k for r in runs for k in r.config if k not in NOT_SETTINGS})
    differing = [k for k in settings if len({_show(r.config.get(k)) for r in runs}) > 1]
    header = ["run", "pipeline", *differing, *RESULTS]
    rows = []
    for r in runs:
        results = [(f"{100 * v:.2f}%" if k.endswith("accuracy") else f"{v:.4g}") if (v := number(r, k)) is not None
                   else "" for k in RESULTS]
        rows.append([r.path.name, r.pipeline, *(_show(r.config.get(k)) for k in differing), *results])
    for p in problems:
        rows.append([p.path.name, "unreadable", *([""] * (len(header) - 3)), p.message])
    return header, rows


def runs_table(dirs: list[str | Path], csv_path: str | None = None, markdown_path: str | None = None) -> str:
    """The table as aligned text; also written to ``csv_path`` / ``markdown_path`` if given."""
    header, rows = table_rows(dirs)
    if csv_path:
        write_text(csv_path, csv_text([dict(zip(header, r)) for r in rows], header))
    if markdown_path:
        write_text(markdown_path, "| " + " | ".join(map(md_escape, header)) + " |\n|" + "---|" * len(header) + "\n"
                   + "".join("| " + " | ".join(map(md_escape, r)) + " |\n" for r in rows))
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in [header, *rows]]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])
