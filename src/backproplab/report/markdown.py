"""Markdown → HTML with the mathematics rendered to MathML on our side, so a report
displays its formulas from disk with no network and no JavaScript.

Two things the MathML needs beyond the converter: a prime is written as a prime after its
base, at full size (as a superscript, browsers draw it at script size, barely visible),
and every display formula and table sits in a box that scrolls sideways on a narrow
screen and says so. A paragraph ``Table: caption`` just before a table (pandoc's
convention) becomes that table's numbered caption.
"""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

#: placeholders the page's figure and table numbers replace (``doc.number_captions``); an
#: HTML comment, so that no escaped text can contain one
FIGURE, TABLE = "<!--n:figure-->", "<!--n:table-->"

#: an inline formula of at most this many characters of LaTeX fits a phone's line: it needs
#: no box of its own (a box would let the line break between it and its punctuation)
SHORT = 40
_XMLNS = re.compile(r'\s+xmlns="[^"]*"')
#: a prime the converter sets as a superscript of a one-element base: <msup><mi>σ</mi><mi>′</mi></msup>
_PRIME = re.compile(r"<msup>(<m[ion]>[^<]*</m[ion]>)<m[io]>((?:&#x02032;)+)</m[io]></msup>")


def scroll_box(inner: str, tag: str, what: str, inline: bool = False) -> str:
    """``inner`` in a box that scrolls sideways when it is wider than the page, with a line
    that appears only then (style.css: a scroll-driven animation of that box) and says so;
    ``inline``: the box sits in a line of text."""
    return (f'<{tag} class="wide{" in-line" if inline else ""}"><{tag} class="hint" aria-hidden="true">↔ {what} is '
            f'wider than the screen: scroll it sideways</{tag}><{tag} class="scroll">{inner}</{tag}></{tag}>')


def latex_to_mathml(latex: str, display: bool) -> str:
    """One formula as MathML (HTML5 needs no namespace URL, so none is written)."""
    try:
        mathml = convert(latex, display="block" if display else "inline")
    except Exception:  # a construct the converter lacks: show the source rather than fail
        return f"<code>{html.escape(latex)}</code>"
    mathml = _PRIME.sub(lambda m: m.group(1) + '<mo lspace="0" rspace="0">' + m.group(2) + "</mo>",
                        _XMLNS.sub("", mathml))
    if not display and len(latex) <= SHORT:
        return mathml
    return scroll_box(mathml, "span", "the formula", inline=not display)


def _render(content: str, options: dict) -> str:
    return latex_to_mathml(content, options.get("display_mode", False))


def _table_open(renderer, tokens, idx, options, env) -> str:
    """Every table under its caption (when the document gives one), in its own box."""
    caption = tokens[idx].meta.get("caption")
    title = f'<p class="caption"><strong>Table {TABLE}.</strong> {html.escape(caption)}</p>' if caption else ""
    opening = scroll_box("\0", "div", "the table").split("\0")[0]
    return title + opening + renderer.renderToken(tokens, idx, options, env)


def _table_close(renderer, tokens, idx, options, env) -> str:
    closing = scroll_box("\0", "div", "the table").split("\0")[1]
    return renderer.renderToken(tokens, idx, options, env) + closing


def _code(renderer, tokens, idx, options, env) -> str:
    """A code block in its own box, as a table."""
    rule = renderer.fence if tokens[idx].type == "fence" else renderer.code_block
    return scroll_box(rule(tokens, idx, options, env), "div", "the text")


_md = MarkdownIt("commonmark", {"html": False}).enable("table").use(dollarmath_plugin, renderer=_render)
_md.add_render_rule("table_open", _table_open)
_md.add_render_rule("table_close", _table_close)
_md.add_render_rule("fence", _code)
_md.add_render_rule("code_block", _code)


def _captions(tokens: list) -> list:
    """The tokens with each "Table: …" paragraph that stands just before a table moved into
    that table's caption."""
    out, i = [], 0
    while i < len(tokens):
        t = tokens[i]
        if (t.type == "paragraph_open" and i + 3 < len(tokens) and tokens[i + 1].type == "inline"
                and tokens[i + 1].content.startswith("Table: ") and tokens[i + 3].type == "table_open"):
            tokens[i + 3].meta = {**(tokens[i + 3].meta or {}), "caption": tokens[i + 1].content[len("Table: "):]}
            i += 3
            continue
        out.append(t)
        i += 1
    return out


#: a short inline formula and the punctuation after it (a browser may break a line between
#: a formula and its comma; they are kept together)
_FORMULA_THEN_MARK = re.compile(r'(<span class="math inline"><math [^>]*>(?:(?!</math>).)*</math></span>)'
                                r'([,.;:!?)]+)')


def markdown_to_html(text: str) -> str:
    env: dict = {}
    page = _md.renderer.render(_captions(_md.parse(text, env)), _md.options, env)
    return _FORMULA_THEN_MARK.sub(r'<span class="nobr">\1\2</span>', page)
