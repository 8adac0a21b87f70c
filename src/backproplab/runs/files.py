"""Files that appear whole or not at all, and bounded readers for the files runs write.

Every write goes to a temporary name beside its target (``.<name>.tmp-<pid>``) and is
renamed over it only once complete, so a crash leaves the old file or the new one,
never half of one. JSON is written strictly (a non-finite number becomes ``null``,
never the invalid tokens ``NaN``/``Infinity``), and floats in CSV keep 10 significant
digits so that the same run gives the same bytes.

The readers (``read_json``, ``read_metrics``) are for folders a user hands us: they
refuse a file over ``MAX_RUN_FILE_BYTES`` before reading it, and every problem is a
``RunFileError`` naming the file.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
from pathlib import Path
from typing import Iterator

from ..bounded import read_bounded
from ..errors import BackproplabError

#: the largest config.json / summary.json / metrics.csv a reader accepts (ours are kilobytes)
MAX_RUN_FILE_BYTES = 16 * 2**20
#: how deeply a run's JSON may nest (ours: 4 levels); deeper would exhaust the readers' recursion
MAX_JSON_DEPTH = 32


class RunFileError(BackproplabError, ValueError):
    """A file in a run folder that is missing, too large or not what we write."""


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # a leftover of ours, or a link planted at our name: removed, never followed
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644))
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()  # our own temporary name: nothing else can be called this


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def write_text(path: str | Path, text: str) -> None:
    """UTF-8 always: a character that has none (a file name's undecodable byte, kept by
    Python as a lone surrogate) is written as its escape, ``\\udcff``."""
    write_bytes(path, text.encode("utf-8", errors="backslashreplace"))


def strict_json(obj) -> str:
    """JSON with every non-finite float written as null (valid JSON, always)."""
    return json.dumps(_finite(obj), indent=2, allow_nan=False) + "\n"


def _finite(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


def write_json(path: str | Path, obj) -> None:
    write_text(path, strict_json(obj))


def csv_text(rows: list[dict], columns: list[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _fmt(row.get(k)) for k in columns})
    return buf.getvalue()


def write_csv(path: str | Path, rows: list[dict], columns: list[str]) -> None:
    write_text(path, csv_text(rows, columns))


def _fmt(value):
    """Floats with 10 significant digits: the same run gives the same bytes."""
    if isinstance(value, float):
        return f"{value:.10g}"
    return value


# -- bounded readers ----------------------------------------------------------------------


def read_small_text(path: str | Path, limit: int = MAX_RUN_FILE_BYTES) -> str:
    """A UTF-8 text file of at most ``limit`` bytes (checked before and while reading)."""
    data = read_bounded(path, limit, RunFileError, "run file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise RunFileError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None


def read_json(path: str | Path) -> dict:
    """A JSON object from a run folder; RunFileError names the file and what is wrong."""
    text = read_small_text(path)
    try:
        obj = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as err:
        raise RunFileError(f"{path}: not valid JSON ({str(err).splitlines()[0][:200]})") from None
    if not isinstance(obj, dict):
        raise RunFileError(f"{path}: expected a JSON object, found {type(obj).__name__}")
    if _depth(obj) > MAX_JSON_DEPTH:
        raise RunFileError(f"{path}: nested more than {MAX_JSON_DEPTH} levels deep; backproplab writes at most a few")
    return obj


def _depth(obj) -> int:
    """How deeply lists and objects nest in ``obj`` (counted without recursion)."""
    deepest, stack = 0, [(obj, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, level)
            if level <= MAX_JSON_DEPTH:
                stack.extend((v, level + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON value")


def read_metrics(path: str | Path) -> list[dict]:
    """metrics.csv → list of rows with numbers parsed; RunFileError for a malformed file."""
    text = read_small_text(path)
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as err:
        raise RunFileError(f"{path}: not a metrics table ({err})") from None
    if rows and None in rows[0]:
        raise RunFileError(f"{path}: a row has more fields than the header")
    return [{k: _parse(v) for k, v in row.items()} for row in rows]


def _parse(value):
    if value is None:
        return None
    for kind in (int, float):
        try:
            return kind(value)
        except (ValueError, OverflowError):
            pass
    return value
