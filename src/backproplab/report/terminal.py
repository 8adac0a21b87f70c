"""The runs table on a terminal: as many columns as fit its width, chosen by what differs.

- A fact (pipeline, status, data) that is the same for every run shown is said once, in a
  line above the table, instead of taking a column; the data get no column either when
  each pipeline's runs read the same data (the pipeline names them).
- The settings shown are those that differ between runs of one pipeline, the words first
  (engine, model, profile: what was trained), then the numbers, the seed last, as many
  as fit beside a name column of at least ``MIN_NAME`` characters; those that do not fit
  are counted in a note (``--wide`` shows every column, whole).
- A run's name is shortened to its distinguishing end: the longest end (whole parts
  between ``-`` and ``/``) that fits and that no other name shares, after a "…".

``runs_listing`` is the whole command: the table, or ``--json``/``--csv -``/``--markdown -``.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from ..errors import UsageError
from ..runs.files import write_text
from . import compare
from .compare import FACTS, RESULTS, Record, as_markdown, inert, show

#: the longest setting cell on a terminal (``--wide`` keeps every character)
CELL = 16
#: the narrowest run-name column the settings give way to
MIN_NAME = 12
GAP = 2


def unique_end(name: str, names: list[str], room: int) -> str:
    """``name`` whole when it fits ``room`` characters, else "…" and its longest end, cut
    between parts, that fits and ends no other name; its shortest such end when none fits."""
    if len(name) <= room:
        return name
    others = [n for n in names if n != name]
    ends = [name[m.end():] for m in re.finditer(r"[-/]", name)]  # longest first
    unique = [e for e in ends if e and not any(o.endswith(e) for o in others)]
    if not unique:
        return name
    fitting = [e for e in unique if len(e) + 1 <= room]
    return "…" + (fitting[0] if fitting else unique[-1])


def _differs(rows: list[Record], key: str, pipeline_of) -> bool:
    """Whether two runs of one pipeline have different values of setting ``key``."""
    seen: dict[str, set] = {}
    for r in rows:
        if key in r.settings:
            seen.setdefault(pipeline_of(r), set()).add(show(r.settings[key]))
    return any(len(v) > 1 for v in seen.values())


def setting_columns(rows: list[Record], pipelines) -> list[str]:
    """The settings that differ, in the order a reader needs them: words before numbers
    (engine and model before the batch size), the seed last."""
    fields = {}
    for p in pipelines:
        for f in p.config.__dataclass_fields__.values():
            fields.setdefault(f.name, f)

    def pipeline_of(r: Record) -> str:
        return next((p.name for p in pipelines if r.pipeline in p.run_kinds), r.pipeline)

    keys: list[str] = []
    for r in rows:
        keys += [k for k in r.settings if k not in keys and k != "epochs"]
    differing = [k for k in keys if _differs(rows, k, pipeline_of)]

    def rank(k: str) -> tuple:  # a word from a list of choices (engine, model, profile) names what was trained
        choices = (fields[k].metadata.get("choices") if k in fields else None) or ()
        words = bool(choices) and all(isinstance(c, str) for c in choices)
        return (0 if words else 1, k == "seed", keys.index(k))

    return sorted(differing, key=rank)


def fit(rows: list[Record], unreadable: list[str], pipelines, width: int, wide: bool = False) -> str:
    """The table as lines of at most ``width`` characters (``wide``: every column, whole)."""
    facts = [(k, h) for k, h in FACTS if wide or len({r.text(k) for r in rows}) > 1 and not
             (k == "data" and len({(r.pipeline, r.data) for r in rows}) == len({r.pipeline for r in rows}))]
    same = [f"{h} {inert(rows[0].text(k))}" for k, h in FACTS if len({r.text(k) for r in rows}) == 1
            and (k, h) not in facts and rows[0].text(k)]
    settings_shown = setting_columns(rows, pipelines)

    def cell(r: Record, key: str) -> str:
        text = inert(r.text(key))
        return text if wide or len(text) <= CELL else text[:CELL - 1] + "…"

    def widths(keys: list[str], heads: list[str]) -> list[int]:
        return [max([len(h), *(len(cell(r, k)) for r in rows)]) for k, h in zip(keys, heads)]

    names = [inert(r.name) for r in rows]
    dropped = 0
    while True:
        keys = [k for k, _ in facts] + settings_shown + [k for k, _ in RESULTS]
        heads = [h for _, h in facts] + settings_shown + [h for _, h in RESULTS]
        used = sum(widths(keys, heads)) + GAP * len(keys)
        room = max(len("run"), width - used)
        if wide or room >= MIN_NAME or not settings_shown:
            break
        settings_shown, dropped = settings_shown[:-1], dropped + 1
    shown_names = names if wide else [unique_end(n, names, room) for n in names]
    table = [["run", *heads]] + [[n, *(cell(r, k) for k in keys)] for n, r in zip(shown_names, rows)]
    cols = [max(len(line[c]) for line in table) for c in range(len(table[0]))]
    lines = [("  ".join(c.ljust(w) for c, w in zip(line, cols))).rstrip() for line in table]
    top = [f"{len(rows)} run(s), all with " + ", ".join(same)] if same else []
    note = [f"({dropped} more setting column(s) differ: --wide shows them; --json, --csv - for everything)"] \
        if dropped else []

    def wrap(texts: list[str]) -> list[str]:
        return [part for text in texts for part in textwrap.wrap(text, max(40, width))]

    rule = "-" * min(width, max(map(len, lines)))
    return "\n".join([*wrap(top), lines[0], rule, *lines[1:], *wrap(note), *map(inert, unreadable)])


def markdown(rows: list[Record], pipelines) -> str:
    """The table with every column that differs, each cell whole, as Markdown."""
    keys = [k for k, _ in FACTS] + setting_columns(rows, pipelines) + [k for k, _ in RESULTS]
    heads = ["run", *(dict(FACTS + RESULTS).get(k, k) for k in keys)]
    return as_markdown(heads, [[r.name, *(r.text(k) for k in keys)] for r in rows])


# -- the command ----------------------------------------------------------------------------


def runs_listing(dirs: list[str | Path], pipelines, width: int, wide: bool = False, json_out: bool = False,
                 csv_path: str | None = None, markdown_path: str | None = None) -> tuple[str, list[str]]:
    """What ``backproplab runs`` prints, and the lines of the folders that could not be read.
    The CSV and the Markdown also go to their files; "-" prints one instead of the table."""
    if [json_out, csv_path == "-", markdown_path == "-"].count(True) > 1:
        raise UsageError("only one of --json, --csv - and --markdown - can go to the standard output")
    rows, unreadable = compare.records(dirs, pipelines)
    if csv_path and csv_path != "-":
        write_text(csv_path, compare.as_csv(rows, unreadable))
    if markdown_path and markdown_path != "-":
        write_text(markdown_path, markdown(rows, pipelines))
    if json_out:
        return compare.as_json(rows, unreadable), unreadable
    if csv_path == "-":
        return compare.as_csv(rows, unreadable), unreadable
    if markdown_path == "-":
        return markdown(rows, pipelines), unreadable
    return fit(rows, unreadable, pipelines, width, wide), unreadable
