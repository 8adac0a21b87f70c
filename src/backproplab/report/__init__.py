"""backproplab.report — one self-contained report (HTML and Markdown) from run folders,
and the ``runs`` table that compares them.

It reads what the pipelines wrote (config.json, summary.json, metrics.csv, the plots),
never their code.
"""

from .build import build_report

__all__ = ["build_report"]
