"""Markdown → HTML with the mathematics rendered to MathML on our side, so a report
displays its formulas from disk with no network and no JavaScript."""

from __future__ import annotations

import html
import re

from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

_XMLNS = re.compile(r'\s+xmlns="[^"]*"')


def latex_to_mathml(latex: str, display: bool) -> str:
    """One formula as MathML (HTML5 needs no namespace URL, so none is written)."""
    try:
        mathml = convert(latex, display="block" if display else "inline")
    except Exception:  # a construct the converter lacks: show the source rather than fail
        return f"<code>{html.escape(latex)}</code>"
    return _XMLNS.sub("", mathml)


def _render(content: str, options: dict) -> str:
    return latex_to_mathml(content, options.get("display_mode", False))


def _table_open(renderer, tokens, idx, options, env) -> str:
    """Every table in its own sideways-scrolling box, so no table widens the page (a phone)."""
    return '<div class="scroll">' + renderer.renderToken(tokens, idx, options, env)


def _table_close(renderer, tokens, idx, options, env) -> str:
    return renderer.renderToken(tokens, idx, options, env) + "</div>"


_md = MarkdownIt("commonmark", {"html": False}).enable("table").use(dollarmath_plugin, renderer=_render)
_md.add_render_rule("table_open", _table_open)
_md.add_render_rule("table_close", _table_close)


def markdown_to_html(text: str) -> str:
    return _md.render(text)
