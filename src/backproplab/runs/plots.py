"""Training curves as PNG files (matplotlib, no display needed)."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .folder import atomic_path  # noqa: E402

LABELS = {"train": "training", "val": "validation", "test": "test"}


def plot_curves(rows: list[dict], metric: str, path: str | Path, title: str, ylabel: str | None = None,
                percent: bool = False) -> None:
    """Plot ``train_<metric>`` and ``val_<metric>`` (whichever exist) against epoch."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    epochs = [r["epoch"] for r in rows]
    for split in ("train", "val"):
        key = f"{split}_{metric}"
        if rows and key in rows[0]:
            values = [r[key] * (100 if percent else 1) for r in rows]
            ax.plot(epochs, values, marker="o", markersize=3, label=LABELS[split])
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel or metric.replace("_", " ") + (" (%)" if percent else ""))
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def plot_lines(series: dict[str, tuple[list, list]], path: str | Path, title: str, xlabel: str, ylabel: str) -> None:
    """Several labelled (x, y) lines in one plot."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for label, (x, y) in series.items():
        ax.plot(x, y, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)
