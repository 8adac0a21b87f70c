"""backproplab.report — one self-contained report (HTML and Markdown) from run folders.

It reads what the pipelines wrote (summary.json, metrics.csv, the plots), never their code.
"""

from .build import build_report

__all__ = ["build_report"]
