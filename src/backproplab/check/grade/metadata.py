"""The students of a Gradescope "Export Submissions" folder, from its ``submission_metadata.yml``.

Gradescope writes that file with Ruby's YAML emitter: one top-level key per submission
folder, and under it ``:submitters:``, a list of ``:name:``, ``:sid:``, ``:email:``::

    submission_123456:
      :submitters:
      - :name: Ada Lovelace
        :sid: '3031234567'
        :email: ada@berkeley.edu
      :created_at: 2024-04-02 21:14:03.000000000 -07:00
      :score: 12.0

This module reads those three fields and nothing else, without a YAML library: no tag is
acted on (Ruby's ``!ruby/object`` among them), no alias expanded beyond one level, no type
converted (an SID stays the digits it was, leading zeros kept). A scalar may be plain,
'single-quoted' or "double-quoted" with escapes. A folder's own
``submission_metadata.yml`` (the submission's mapping at the top level) is read the same way.
Whatever the reader does not understand is left out, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ...bounded import read_bounded

FILE = "submission_metadata.yml"
#: a class's export with its history is a few megabytes
MAX_BYTES = 64 << 20
FIELDS = ("name", "email", "sid")
_KEY = re.compile(r"""^(?P<key>"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s'"#][^#]*?)\s*:(?:\s+(?P<value>.*))?$""")
_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r", "e": "\x1b",
            " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029"}


class MetadataError(Exception):
    """The metadata file cannot be read at all (its size, its encoding)."""


@dataclass(frozen=True)
class Student:
    name: str | None = None
    email: str | None = None
    sid: str | None = None


def read_metadata(path: Path) -> dict[str, list[Student]]:
    """submission folder → its submitters (a group submission has several). A file with the
    submission itself at its top level (a folder's own metadata) is returned under ""."""
    data = read_bounded(path, MAX_BYTES, MetadataError, "metadata file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise MetadataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    lines = [(len(line) - len(line.lstrip(" ")), line.strip()) for line in text.splitlines()
             if line.strip() and not line.lstrip().startswith("#") and line.strip() not in ("---", "...")]
    found: dict[str, list[Student]] = {}
    anchors: dict[str, list[Student]] = {}
    own = _submitters(lines, 0, 0, anchors)
    if own is not None:
        found[""] = own
    for i, (indent, content) in enumerate(lines):
        key = _key(content) if indent == 0 else None
        if key is not None and key[0] and not key[0].startswith(":"):
            students = _submitters(lines, i + 1, _child_indent(lines, i + 1), anchors)
            if students is not None:
                found[key[0]] = students
    return found


def _child_indent(lines: list[tuple[int, str]], start: int) -> int:
    return lines[start][0] if start < len(lines) and lines[start][0] > 0 else -1


def _submitters(lines, start: int, indent: int, anchors: dict) -> list[Student] | None:
    """The ``:submitters:`` list of the mapping whose keys sit at ``indent`` from ``start``."""
    for i in range(start, len(lines)):
        at, content = lines[i]
        if at < indent or indent < 0:
            return None
        key = _key(content) if at == indent else None
        if not key or key[0] != ":submitters":
            continue
        value = key[1]
        anchor = re.match(r"&(\S+)\s*", value)
        value = value[anchor.end():] if anchor else value
        if value.startswith("*"):
            return list(anchors.get(value[1:].strip(), []))
        students = [] if value.startswith("[]") else _items(lines, i + 1, indent)
        if anchor:
            anchors[anchor.group(1)] = students
        return students
    return None


def _items(lines, start: int, key_indent: int) -> list[Student]:
    """A block sequence of mappings (``- :name: …``) after a key at ``key_indent``."""
    students, fields, dash, inner = [], None, None, None
    for at, content in lines[start:]:
        if dash is None and content.startswith("-") and at >= key_indent:
            dash = at
        if dash is None or at < dash or (at == dash and not content.startswith("-")):
            break
        if at == dash:  # a new item
            if fields is not None:
                students.append(Student(**fields))
            fields, inner, content = {}, None, content[1:].strip()
            if not content:
                continue
        elif inner is None:
            inner = at  # the item's own keys; deeper lines belong to nested values
        elif at != inner:
            continue
        key = _key(content)
        if key and key[0].lstrip(":") in FIELDS and fields is not None:
            fields[key[0].lstrip(":")] = _scalar(key[1])
    if fields is not None:
        students.append(Student(**fields))
    return students


def _key(content: str) -> tuple[str, str] | None:
    """(key, the rest of the line) of a ``key: value`` line; None for anything else."""
    found = _KEY.match(content)
    if not found:
        return None
    return _scalar(found.group("key")) or "", (found.group("value") or "").strip()


def _scalar(text: str) -> str | None:
    """A one-line scalar's text: plain, single- or double-quoted; None for null, a nested
    value or a block scalar this reader does not take."""
    text = re.sub(r"^(![^\s]*\s+|&\S+\s+)+", "", text.strip())
    if text.startswith("'"):
        end = re.match(r"'((?:[^']|'')*)'", text)
        return end.group(1).replace("''", "'") if end else None
    if text.startswith('"'):
        end = re.match(r'"((?:[^"\\]|\\.)*)"', text)
        return _unescape(end.group(1)) if end else None
    text = re.sub(r"\s+#.*$", "", text).strip()
    if text in ("", "~", "null", "Null", "NULL") or text[0] in "[{|>*&!":
        return None
    return text


def _unescape(body: str) -> str:
    def one(found: re.Match) -> str:
        escape = found.group(1)
        if escape[0] in "xuU":
            try:
                return chr(int(escape[1:], 16))
            except ValueError:
                return found.group(0)
        return _ESCAPES.get(escape, found.group(0))

    return re.sub(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", one, body)
