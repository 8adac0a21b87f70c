"""The pictures a run leaves behind, drawn with matplotlib's object API (a ``Figure``
per plot, never pyplot), so importing or calling this module never changes the global
backend: a notebook's inline plots keep working. Each ``*_figure`` function returns
the Figure (a notebook shows it as is); ``save`` writes one as a PNG, atomically.

- ``curves_figure``: loss, accuracy or error per epoch, training and validation, with
  the epoch that was kept marked;
- ``confusion_figure``: the confusion matrix in counts, with each class's accuracy;
- ``misclassified_figure``: test images the model got wrong, true and predicted label;
- ``weights_figure``: what the first layer learned — dense weights as a heat map (or,
  for image inputs, one picture per hidden unit) and convolution filters as a grid;
- ``compare_figure``: one metric of several runs on one plot (e.g. the PyTorch and
  NumPy MLPs).
"""

from __future__ import annotations

import io
import textwrap
import unicodedata
from pathlib import Path

from typing import TYPE_CHECKING

import numpy as np

from .files import write_bytes

if TYPE_CHECKING:  # matplotlib is imported when the first figure is drawn, not with this module
    from matplotlib.figure import Figure

LABELS = {"train": "training", "val": "validation"}
#: a weights heat map shows at most this many input features (the rest is summarised in the title)
MAX_FEATURES = 60
#: every figure is drawn at this resolution; with every font >= 7 pt its smallest text is
#: >= 9.7 pixels, so at its natural size (the report never shrinks a figure) it reads at 100%
DPI = 100
#: the widest figure, in inches: DPI × this fits the report's column (880 CSS pixels)
MAX_WIDTH = 8.8
#: the PNG text field that records a figure's smallest text, in pixels (the report's test reads it)
TEXT_KEY = "backproplab:min-text-px"


def new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI)


def integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def smallest_text_px(fig: Figure) -> float:
    """The size in pixels of the smallest visible text of the figure, as it is saved."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes, default=10.0) * fig.dpi / 72


def literal(fig: Figure) -> Figure:
    """Every text of the figure drawn as written: a class name, feature or run name such as
    ``$\\foo$`` is not parsed as mathematics (which could fail, or render something else),
    and a control character (no font draws one) shows as ``?``."""
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_parse_math(False)
        written = text.get_text()
        shown = "".join("?" if ch != "\n" and unicodedata.category(ch).startswith("C") else ch for ch in written)
        if shown != written:
            text.set_text(shown)
    return fig


def finish(fig: Figure) -> Figure:
    """Texts made literal, then laid out (laying out draws them, so the order matters)."""
    literal(fig)
    fig.tight_layout()
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG, its smallest text size recorded under ``TEXT_KEY``."""
    literal(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={TEXT_KEY: f"{smallest_text_px(fig):.1f}"})
    return buf.getvalue()


def save(fig: Figure, path: str | Path) -> None:
    write_bytes(path, png_bytes(fig))


def title(ax, text: str, width_inches: float, size: float = 11) -> None:
    """The title wrapped to the figure's width, so that a narrow figure never clips it."""
    chars = max(20, int(width_inches * 120 / size))
    ax.set_title("\n".join(textwrap.wrap(text, chars)), fontsize=size)


def curves_figure(rows: list[dict], metric: str, heading: str, chosen_epoch: int | None = None) -> Figure:
    """``train_<metric>`` and ``val_<metric>`` against epoch (percent for accuracy/error)."""
    percent = metric in ("accuracy", "error")
    fig = new_figure(6.4, 4.0)
    ax = fig.add_subplot()
    epochs = [r["epoch"] for r in rows]
    for split in ("train", "val"):
        key = f"{split}_{metric}"
        if rows and key in rows[0]:
            ax.plot(epochs, [r[key] * (100 if percent else 1) for r in rows], marker="o", markersize=3,
                    label=LABELS[split])
    if chosen_epoch is not None:
        ax.axvline(chosen_epoch, color="0.4", linestyle="--", linewidth=1,
                   label=f"kept: epoch {chosen_epoch} (best validation)")
    ax.set_xlabel("epoch")
    integer_ticks(ax.xaxis)
    ax.set_ylabel({"loss": "cross-entropy loss"}.get(metric, f"{metric} (%)"))
    title(ax, heading, 6.4)
    ax.grid(alpha=0.3)
    ax.legend()
    return finish(fig)


def compare_figure(runs: dict[str, list[dict]], metric: str, heading: str) -> Figure:
    """``metric`` (e.g. "val_accuracy") of several runs, one line each, labelled by name."""
    fig = new_figure(6.4, 4.0)
    ax = fig.add_subplot()
    percent = metric.endswith(("accuracy", "error"))
    for label, rows in runs.items():
        ax.plot([r["epoch"] for r in rows], [r[metric] * (100 if percent else 1) for r in rows], marker="o",
                markersize=3, label=label)
    ax.set_xlabel("epoch")
    integer_ticks(ax.xaxis)
    ax.set_ylabel(metric.replace("_", " ") + (" (%)" if percent else ""))
    title(ax, heading, 6.4)
    ax.grid(alpha=0.3)
    ax.legend()
    return finish(fig)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """counts[i, j]: examples of class i predicted as j."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


def confusion_figure(counts: np.ndarray, class_names: list[str], heading: str) -> Figure:
    """The confusion matrix with each true class's accuracy; the counts are written in the
    cells up to 20 classes (beyond, the colour alone shows them: the text would not fit)."""
    k = len(class_names)
    per_class = counts.diagonal() / np.maximum(counts.sum(axis=1), 1)
    size = min(MAX_WIDTH - 1.2, max(4.0, 0.5 * k + 2.5))
    fig = new_figure(size + 1.2, size)
    ax = fig.add_subplot()
    ax.imshow(counts, cmap="Blues")
    high = counts.max() / 2 if counts.size else 0
    for i in range(k if k <= 20 else 0):
        for j in range(k):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8 if k > 5 else 10,
                    color="white" if counts[i, j] > high else "black")
    names = [name if len(name) <= 24 else name[:23] + "…" for name in class_names]
    tick_size = 9 if k <= 20 else 7
    ax.set_xticks(range(k), names, rotation=45 if k <= 20 else 90, ha="right" if k <= 20 else "center",
                  fontsize=tick_size)
    ax.set_yticks(range(k), [f"{n} ({100 * a:.0f}%)" for n, a in zip(names, per_class)], fontsize=tick_size)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class (its accuracy)")
    title(ax, heading, size + 1.2)
    return finish(fig)


def mosaic(tiles: np.ndarray, cols: int, gap: int = 2) -> np.ndarray:
    """Tiles (n, h, w[, 3]) laid out in rows of ``cols`` with a ``gap``-pixel border: one image
    (one Axes draws in milliseconds; a subplot per tile takes a second)."""
    n, h, w = tiles.shape[:3]
    rows = max(1, -(-n // cols))
    out = np.full((rows * (h + gap) + gap, cols * (w + gap) + gap, *tiles.shape[3:]), np.nan)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        out[gap + r * (h + gap): gap + r * (h + gap) + h, gap + c * (w + gap): gap + c * (w + gap) + w] = tile
    return out


def misclassified_figure(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str],
                         heading: str, n: int = 24, cols: int = 6) -> Figure:
    """The first ``n`` misclassified images (uint8, (m, H, W) or (m, H, W, 3)), each with its
    true and predicted class."""
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[:n]
    width = min(MAX_WIDTH, cols * 1.4)
    fig = new_figure(width, max(1, -(-len(wrong) // cols)) * 1.75 + 0.6)
    ax = fig.add_subplot()
    title(ax, heading, width, size=10)
    ax.axis("off")
    if not len(wrong):
        ax.text(0.5, 0.5, "no test example was misclassified", ha="center", transform=ax.transAxes)
        return literal(fig)
    tiles = images[wrong].astype(float) / 255
    h, w = tiles.shape[1:3]
    gap = h // 2  # room for the labels
    ax.imshow(mosaic(tiles, cols, gap), cmap="gray" if tiles.ndim == 3 else None, vmin=0, vmax=1)
    for k, i in enumerate(wrong):
        r, c = divmod(k, cols)
        ax.text(gap + c * (w + gap) + w / 2, gap + r * (h + gap) - 1,
                f"{class_names[y_true[i]]}\n→ {class_names[y_pred[i]]}", ha="center", va="bottom", fontsize=7.5,
                color="firebrick")
    return finish(fig)


def weights_figure(W: np.ndarray, heading: str, image_shape: tuple[int, int] | None = None,
                   feature_names: list[str] | None = None, n: int = 32) -> Figure:
    """The first layer's weights: a (n_in, n_out) dense matrix as a heat map (features ×
    units; the first ``MAX_FEATURES`` features and 64 units of a large matrix), or as one
    picture per unit when the inputs are images of ``image_shape``; a (kh, kw, C, F)
    convolution kernel as a grid of its F filters."""
    if W.ndim == 4 or image_shape is not None:
        filters = W.transpose(3, 0, 1, 2) if W.ndim == 4 else W.T.reshape(-1, *image_shape)[..., None]
        return _grid(filters[:n], heading)
    rows, units = min(W.shape[0], MAX_FEATURES), min(W.shape[1], 64)
    shown = W[:rows, :units]
    if (rows, units) != W.shape:
        heading += f" (the first {rows} of {W.shape[0]} inputs, {units} of {W.shape[1]} units)"
    width = min(MAX_WIDTH, max(5.0, 2.5 + 0.22 * units))
    fig = new_figure(width, min(10.0, 1.6 + 0.3 * rows))
    ax = fig.add_subplot()
    limit = np.abs(shown).max() or 1.0
    image = ax.imshow(shown, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    names = (feature_names or [str(i) for i in range(W.shape[0])])[:rows]
    ax.set_yticks(range(rows), [name[:24] for name in names], fontsize=9 if rows <= 40 else 7)
    integer_ticks(ax.xaxis)
    ax.set_xlabel("hidden unit")
    title(ax, heading, width)
    fig.colorbar(image, ax=ax, label="weight")
    return finish(fig)


def _grid(filters: np.ndarray, heading: str, cols: int = 8) -> Figure:
    """Filters (F, h, w, C), each scaled to its own range: RGB when C = 3, else the first channel."""
    lo = filters.min(axis=(1, 2, 3), keepdims=True)
    span = filters.max(axis=(1, 2, 3), keepdims=True) - lo
    tiles = (filters - lo) / np.where(span > 0, span, 1.0)
    tiles = tiles if tiles.shape[-1] == 3 else tiles[..., 0]
    cols = min(cols, len(tiles))
    width = max(4.0, cols * 1.1)
    fig = new_figure(width, max(1, -(-len(tiles) // cols)) * 1.1 + 0.7)
    ax = fig.add_subplot()
    gap = max(1, tiles.shape[1] // 8)
    ax.imshow(mosaic(tiles, cols, gap), cmap=None if tiles.ndim == 4 else "RdBu_r", interpolation="nearest")
    title(ax, heading, width, size=10)
    ax.axis("off")
    return finish(fig)
