"""Text from an untrusted source made safe to show: a learner's printed output, the message
of an exception their code raised, the contents of a file they handed us, a file's name.

Such text may hold anything Unicode can: ESC sequences that clear or retitle a terminal
(``\\x1b[2J``), a carriage return that overwrites the line before it, bidi overrides
(U+202E) that show ``exe.txt`` as ``txt.exe``, line separators (U+2028) that split one
field over two lines, lone surrogates that make ``print`` raise. ``visible`` shows every
such character as its Python escape (``\\x1b``, ``\\u202e``), so the reader sees what is
there and the terminal, browser or Markdown renderer acts on none of it; ``html`` and
``markdown`` add the escaping of their formats. The result is for reading, not for
parsing back: a backslash already in the text is left as it is.

Standard library only, so that every room (the grader, the report, the CLI) can use it.
"""

from __future__ import annotations

import html as _html
import re

#: the characters Markdown gives a meaning (a ``|`` ends a table cell); each is shown
#: as itself when preceded by a backslash, which CommonMark allows for any ASCII punctuation
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&$])")


def visible(text: str, limit: int | None = None, *, keep_newlines: bool = False) -> str:
    """``text`` with every character that is not printable shown as its escape.

    Not printable is what ``str.isprintable`` says: the C0 controls (``\\x00``–``\\x1f``,
    ESC among them), DEL, the C1 controls (``\\x80``–``\\x9f``), format characters (the bidi
    embeddings and overrides U+202A–U+202E and isolates U+2066–U+2069, zero-width spaces),
    line and paragraph separators (U+2028, U+2029), spaces other than the ASCII space,
    surrogates, private-use and unassigned code points. Each becomes ``\\n``, ``\\t``,
    ``\\r``, ``\\xhh``, ``\\uhhhh`` or ``\\Uhhhhhhhh``. ``\\n`` and ``\\t`` are escaped too, so
    that one field stays one line, unless ``keep_newlines`` is true (a learner's printed
    output, shown as a block).

    With ``limit``, at most ``limit`` characters of the shown text are kept (an escape is
    never cut in two), followed by ``… (N more characters)`` counting the characters of
    ``text`` left out; only the first ``limit`` characters of ``text`` are ever looked at.
    """
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be at least 0; got {limit}")
    head = text if limit is None else text[:limit]
    if head.isprintable() and (limit is None or len(text) <= limit):
        return head  # the common case: nothing to escape, nothing cut
    keep = "\n\t" if keep_newlines else ""
    pieces = [ch if ch.isprintable() or ch in keep else _escape(ch) for ch in head]
    if limit is None:
        return "".join(pieces)
    shown, used = 0, 0
    for piece in pieces:
        if used + len(piece) > limit:
            break
        shown, used = shown + 1, used + len(piece)
    cut = len(text) - shown
    return "".join(pieces[:shown]) + (f"… ({cut:,} more character{'s' if cut > 1 else ''})" if cut else "")


def html(text: str, limit: int | None = None, *, keep_newlines: bool = False) -> str:
    """``visible(text)`` escaped for HTML (``&``, ``<``, ``>``, both quotes), so that it
    can sit in an element or an attribute value and is never markup."""
    return _html.escape(visible(text, limit, keep_newlines=keep_newlines), quote=True)


def markdown(text: str, limit: int | None = None, *, keep_newlines: bool = False) -> str:
    """``visible(text)`` with every character Markdown gives a meaning backslash-escaped,
    ``|`` included, so that it shows as written in a paragraph or a table cell (a cell
    needs the default ``keep_newlines=False``: a line break would end the table)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", visible(text, limit, keep_newlines=keep_newlines))


#: the escapes a Python programmer reads at a glance
_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def _escape(ch: str) -> str:
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"
