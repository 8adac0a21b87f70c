"""The report as parallel HTML and Markdown, built so that nothing read from a run folder
can become markup, and laid out as a paper: numbered figures and tables with captions,
headings without gaps in their levels.

Everything a section writes is *text*: ``Doc.para`` takes plain strings and the styled
pieces ``bold(...)`` and ``code(...)``, and escapes every one of them — for HTML with
``html.escape``, for Markdown by backslash-escaping every character Markdown gives a
meaning. A value such as ``![p](https://…)`` in a summary.json therefore shows as those
characters and never as an image or a link. Only the project's own documents
(``Doc.markdown``, the files in ``backproplab/docs``) are rendered as Markdown.

Figures and tables are numbered once the page is whole (``number_captions``): a section
writes a placeholder that no escaped text can contain, so the numbers follow the order of
the page, whatever order its parts were written in.
"""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path
from urllib.parse import quote

from ..bounded import read_bounded
from ..runs.plots import DENSITY_KEY, TEXT_KEY
from .markdown import FIGURE, TABLE, markdown_to_html, scroll_box
from .png import MAX_PNG_BYTES, NotAPlot, png_info

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~&])")


def one_line(text) -> str:
    """The text with every line break (CommonMark's \\r and \\r\\n, and Unicode's) made a space."""
    return " ".join(str(text).splitlines())


def md_escape(text: str) -> str:
    """Text that every Markdown renderer shows as the same characters."""
    return _MD_SPECIAL.sub(r"\\\1", one_line(text))


def bold(text) -> tuple[str, str]:
    return ("b", str(text))


def code(text) -> tuple[str, str]:
    return ("code", str(text))


def _html_part(part) -> str:
    if isinstance(part, tuple):
        kind, text = part
        return f"<{'strong' if kind == 'b' else 'code'}>{html.escape(text)}</{'strong' if kind == 'b' else 'code'}>"
    return html.escape(str(part))


def _md_part(part) -> str:
    if isinstance(part, tuple):
        kind, text = part
        if kind == "b":
            return f"**{md_escape(text)}**"
        fence = "`" * (max(map(len, re.findall("`+", text)), default=0) + 1)  # longer than any run inside
        return f"{fence} {one_line(text)} {fence}"
    return md_escape(part)


def number_captions(lines: list[str]) -> list[str]:
    """The page's lines with every figure and table placeholder replaced by its number, in
    the order they appear (the HTML and the Markdown are numbered alike)."""
    counts = {FIGURE: 0, TABLE: 0}

    def count(match: re.Match) -> str:
        counts[match.group(0)] += 1
        return str(counts[match.group(0)])

    pattern = re.compile(re.escape(FIGURE) + "|" + re.escape(TABLE))
    return [pattern.sub(count, line) for line in lines]


def shift_headings(text: str, top: int) -> str:
    """A Markdown document with its headings moved so that its highest becomes level ``top``
    (the lines inside code fences left alone)."""
    lines, fenced, levels = text.splitlines(), False, []
    for line in lines:
        fenced ^= line.startswith("```")
        if not fenced and re.match(r"#{1,6} ", line):
            levels.append(len(line) - len(line.lstrip("#")))
    shift = top - min(levels, default=top)
    out, fenced = [], False
    for line in lines:
        fenced ^= line.startswith("```")
        is_heading = not fenced and re.match(r"#{1,6} ", line)
        out.append("#" * shift + line if is_heading and shift > 0 else line[-shift:] if is_heading and shift < 0
                   else line)
    return "\n".join(out)


class Doc:
    def __init__(self, out: Path, ids: set[str] | None = None) -> None:
        self.out = out
        self.html: list[str] = []
        self.md: list[str] = []
        self.ids = set() if ids is None else ids  # the ids of the whole page (parts of a page share one set)
        self.anchors: list[tuple[int, str, str]] = []  # (level, text, id) of this part's headings with an id
        self.refused: list[str] = []  # pictures that were not embedded, and why

    def extend(self, other: "Doc") -> None:
        """Append what ``other`` (written with a copy of this page's ids) holds."""
        self.html += other.html
        self.md += other.md
        self.anchors += other.anchors
        self.refused += other.refused
        self.ids |= other.ids

    def _unique(self, anchor: str) -> str:
        ident, k = anchor, 2
        while ident in self.ids:
            ident, k = f"{anchor}-{k}", k + 1
        self.ids.add(ident)
        return ident

    def heading(self, level: int, text: str, anchor: str | None = None) -> None:
        """A heading; its id is ``anchor``, made unique (-2, -3, …) if the report has it already."""
        ident = ""
        if anchor:
            anchor = self._unique(anchor)
            self.anchors.append((level, text, anchor))
            ident = f' id="{html.escape(anchor)}"'
        self.html.append(f"<h{level}{ident}>{html.escape(text)}</h{level}>")
        self.md.append(f"{'#' * level} {md_escape(text)}\n")

    def contents(self, anchors: list[tuple[int, str, str]]) -> None:
        """The table of contents: a link to every section (level-2 heading)."""
        links = [(text, ident) for level, text, ident in anchors if level == 2]
        self.html.append('<nav class="toc"><strong>Contents</strong><ol>' + "".join(
            f'<li><a href="#{html.escape(ident)}">{html.escape(text)}</a></li>' for text, ident in links)
            + "</ol></nav>")
        self.md.append("**Contents:** " + " · ".join(f"[{md_escape(t)}](#{i})" for t, i in links) + "\n")

    def para(self, *parts, css: str | None = None) -> None:
        """A paragraph of text and styled pieces, every one escaped."""
        cls = f' class="{css}"' if css else ""
        self.html.append(f"<p{cls}>" + "".join(_html_part(p) for p in parts) + "</p>")
        self.md.append("".join(_md_part(p) for p in parts) + "\n")

    def bullets(self, items: list[str]) -> None:
        self.html.append("<ul>" + "".join(f"<li>{html.escape(i)}</li>" for i in items) + "</ul>")
        self.md.append("".join(f"- {md_escape(i)}\n" for i in items))

    def preformatted(self, text: str) -> None:
        """Text as written, in a box that scrolls sideways (and says so) when it is wider."""
        self.html.append(scroll_box(f"<pre>{html.escape(text)}</pre>", "div", "the text"))
        self.md.append("```\n" + text.replace("```", "'''") + "\n```\n")

    def markdown(self, text: str, top: int = 3) -> None:
        """One of the project's own Markdown documents, its highest heading at level ``top``."""
        text = shift_headings(text, top)
        self.html.append(markdown_to_html(text))
        self.md.append(re.sub(r"^Table: (.*)$", lambda m: f"**Table {TABLE}.** {m.group(1)}", text, flags=re.M) + "\n")

    def table(self, header: list[str], rows: list[list[str]], classes: list[list[str]] | None = None,
              caption: str = "") -> None:
        """A table under its numbered caption, in a box that scrolls sideways (and says so)
        on a screen narrower than the table."""
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = []
        for i, row in enumerate(rows):
            cells = []
            for j, cell in enumerate(row):
                cls = classes[i][j] if classes else ""
                cells.append(f'<td class="{cls}">{html.escape(cell)}</td>' if cls else f"<td>{html.escape(cell)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        title = (f'<p class="caption"><strong>Table {TABLE}.</strong> {html.escape(caption)}</p>' if caption else "")
        self.html.append(title + scroll_box(f'<table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody>'
                                            "</table>", "div", "the table"))
        self.md.append((f"**Table {TABLE}.** {md_escape(caption)}\n\n" if caption else "")
                       + "| " + " | ".join(md_escape(h) for h in header) + " |\n|" + "---|" * len(header) + "\n"
                       + "".join("| " + " | ".join(md_escape(c) for c in r) + " |\n" for r in rows))

    def figures(self, images: list[tuple[Path | bytes, str]], note: str | None = None) -> None:
        """PNG plots (files, or PNG bytes made here) with their numbered captions, side by side
        where the page is wide enough. Each is drawn to fit the column, its text legible at a
        phone's width (the plots are drawn for that), and a tap or click opens it at its
        natural size (a ``details`` element: no script). Data URIs in the HTML; in the
        Markdown a relative link to the file. A file that is not a bounded, well-formed PNG is
        not embedded (``refused``)."""
        figs = []
        for source, caption in images:
            try:
                if isinstance(source, Path) and source.is_symlink():
                    raise NotAPlot(f"{source}: is a link; the report embeds only a run's own files")
                data = source if isinstance(source, bytes) else read_bounded(source, MAX_PNG_BYTES, NotAPlot, "plot")
                info = png_info(data)
            except NotAPlot as err:
                self.refused.append(f"{source if isinstance(source, Path) else caption}: not embedded ({err})")
                continue
            figs.append(_figure_html(data, info, caption))
            link = ""
            if isinstance(source, Path):
                link = quote(os.path.relpath(source, self.out).replace(os.sep, "/"), safe="/", errors="surrogateescape")
            self.md.append((f"![{md_escape(caption)}]({link})\n\n" if link else "")
                           + f"*Figure {FIGURE}. {md_escape(caption)}*\n")
        if figs:
            self.html.append('<div class="plots">' + "".join(figs) + "</div>")
        if figs and note:
            self.para(note, css="note")

    def raw_html(self, fragment: str, md: str) -> None:
        """Markup the report itself wrote (never text from a run folder)."""
        self.html.append(fragment)
        self.md.append(md)


def _density(info) -> float:
    """How many pixels of the file make one CSS pixel (2 for the plots drawn now, 1 before)."""
    try:
        density = float(info.text.get(DENSITY_KEY, "1"))
    except ValueError:
        return 1.0
    return density if 1 <= density <= 4 else 1.0


def _figure_html(data: bytes, info, caption: str) -> str:
    """One figure: the picture (fitted to the column; tapped, at its natural size) and its caption."""
    density = _density(info)
    width, height = max(1, round(info.width / density)), max(1, round(info.height / density))
    uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
    text_px = html.escape(info.text.get(TEXT_KEY, ""))
    return (f'<figure><details class="zoom"><summary title="tap or click: the picture at its natural size">'
            f'<img src="{uri}" width="{width}" height="{height}" data-text-px="{text_px}" '
            f'alt="{html.escape(caption)}"></summary>'
            '<span class="zoom-note">Natural size: scroll sideways to see all of it; tap the picture again to fit '
            "it to the page.</span></details>"
            f"<figcaption><strong>Figure {FIGURE}.</strong> {html.escape(caption)}</figcaption></figure>")
