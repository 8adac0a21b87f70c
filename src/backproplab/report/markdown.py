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


_md = MarkdownIt("commonmark", {"html": False}).enable("table").use(dollarmath_plugin, renderer=_render)


def markdown_to_html(text: str) -> str:
    return _md.render(text)
