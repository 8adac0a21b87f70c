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
#: a figure's size on the report's page: this many CSS pixels per inch of the Figure (its
#: ``dpi``, so that a notebook shows it at the same size)
DPI = 100
#: the PNG holds this many pixels per CSS pixel, so that it stays sharp on a phone's screen
#: and when the report opens it at its natural size
DENSITY = 2
#: every figure is at most this wide (inches): 430 CSS pixels, two side by side in the
#: report's column on a desktop
WIDTH = 4.3
#: the smallest font of any figure (points): on a phone the report fits a figure of WIDTH
#: into 370 CSS pixels, where 8 pt at DPI reads 11.1 × 370 / 430 = 9.6 pixels
MIN_FONT = 8
#: sizes (points) of a figure's title, axis labels, and ticks/legends/cell text
TITLE, LABEL, SMALL = 10, 9, MIN_FONT
#: the PNG text fields that record a figure's smallest text (CSS pixels at its size on the
#: page) and its DENSITY; the report reads both
TEXT_KEY, DENSITY_KEY = "backproplab:min-text-px", "backproplab:density"


def new_figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI)


def integer_ticks(axis) -> None:
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True))


def smallest_text_px(fig: Figure) -> float:
    """The size in CSS pixels of the smallest visible text of the figure at its page size."""
    from matplotlib.text import Text

    sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
    return min(sizes, default=10.0) * DPI / 72


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
    fig.tight_layout(pad=0.3)
    return fig


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG at DENSITY pixels per CSS pixel, cropped to what is drawn (no blank
    margin), its smallest text and its density recorded under ``TEXT_KEY``/``DENSITY_KEY``."""
    literal(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI * DENSITY, bbox_inches="tight", pad_inches=0.02,
                metadata={TEXT_KEY: f"{smallest_text_px(fig):.1f}", DENSITY_KEY: str(DENSITY)})
    return buf.getvalue()


def save(fig: Figure, path: str | Path) -> None:
    write_bytes(path, png_bytes(fig))


def title(ax, text: str, width_inches: float = WIDTH, size: float = TITLE) -> None:
    """The title wrapped to the figure's width, so that a narrow figure never clips it."""
    chars = max(20, int(width_inches * 115 / size))
    ax.set_title("\n".join(textwrap.wrap(text, chars)), fontsize=size)


def _axes_text(ax) -> None:
    ax.tick_params(labelsize=SMALL)
    ax.xaxis.label.set_fontsize(LABEL)
    ax.yaxis.label.set_fontsize(LABEL)


def curves_figure(rows: list[dict], metric: str, heading: str, chosen_epoch: int | None = None) -> Figure:
    """``train_<metric>`` and ``val_<metric>`` against epoch (percent for accuracy/error)."""
    percent = metric in ("accuracy", "error")
    fig = new_figure(WIDTH, 3.0)
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
    _axes_text(ax)
    title(ax, heading)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=SMALL)
    return finish(fig)


def compare_figure(runs: dict[str, list[dict]], metric: str, heading: str) -> Figure:
    """``metric`` (e.g. "val_accuracy") of several runs, one line each, labelled by name
    (the legend below the plot, each label wrapped to the figure's width)."""
    fig = new_figure(WIDTH, 3.0 + 0.18 * len(runs))
    ax = fig.add_subplot()
    percent = metric.endswith(("accuracy", "error"))
    for label, rows in runs.items():
        ax.plot([r["epoch"] for r in rows], [r[metric] * (100 if percent else 1) for r in rows], marker="o",
                markersize=3, label="\n".join(textwrap.wrap(label, 60)))
    ax.set_xlabel("epoch")
    integer_ticks(ax.xaxis)
    ax.set_ylabel(metric.replace("_", " ") + (" (%)" if percent else ""))
    _axes_text(ax)
    title(ax, heading)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=SMALL, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    return finish(fig)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """counts[i, j]: examples of class i predicted as j."""
    counts = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(counts, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return counts


def _every(k: int, most: int) -> int:
    """Label every n-th of k ticks so that at most ``most`` are labelled."""
    return max(1, -(-k // most))


def confusion_figure(counts: np.ndarray, class_names: list[str], heading: str) -> Figure:
    """The confusion matrix with each true class's accuracy; the counts are written in the
    cells up to 12 classes (beyond, the colour alone shows them: the text would not fit at
    the figure's width), and at most 24 classes are named on each axis."""
    k = len(class_names)
    per_class = counts.diagonal() / np.maximum(counts.sum(axis=1), 1)
    fig = new_figure(WIDTH - 0.2, WIDTH + 0.2)  # the rotated class names reach past the left edge: room for them
    ax = fig.add_subplot()
    ax.imshow(counts, cmap="Blues")
    high = counts.max() / 2 if counts.size else 0
    for i in range(k if k <= 12 else 0):
        for j in range(k):
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=SMALL,
                    color="white" if counts[i, j] > high else "black")
    names = [name if len(name) <= 16 else name[:15] + "…" for name in class_names]
    step = _every(k, 24)
    ticks = list(range(0, k, step))
    ax.set_xticks(ticks, [names[i] for i in ticks], rotation=45 if k <= 12 else 90,
                  ha="right" if k <= 12 else "center", rotation_mode="anchor" if k <= 12 else "default")
    ax.set_yticks(ticks, [f"{names[i]} {100 * per_class[i]:.0f}%" for i in ticks])
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class, its accuracy")
    _axes_text(ax)
    title(ax, heading)
    return finish(fig)


def mosaic(tiles: np.ndarray, cols: int, gap: int = 2, vgap: int | None = None) -> np.ndarray:
    """Tiles (n, h, w[, 3]) laid out in rows of ``cols`` with a ``gap``-pixel border (``vgap``
    above each row): one image (one Axes draws in milliseconds; a subplot per tile takes a
    second). The borders are NaN (drawn blank)."""
    n, h, w = tiles.shape[:3]
    vgap = gap if vgap is None else vgap
    rows = max(1, -(-n // cols))
    out = np.full((rows * (h + vgap), cols * (w + gap) + gap, *tiles.shape[3:]), np.nan)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        out[vgap + r * (h + vgap): vgap + r * (h + vgap) + h, gap + c * (w + gap): gap + c * (w + gap) + w] = tile
    return out


def _image_axes(fig: Figure, picture_height: float):
    """An Axes filling the figure's width below its title: the picture drawn edge to edge."""
    height = fig.get_figheight()
    ax = fig.add_axes((0, 0, 1, picture_height / height))
    ax.axis("off")
    return ax


def misclassified_figure(images: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, class_names: list[str],
                         heading: str, n: int = 16, cols: int = 4) -> Figure:
    """The first ``n`` misclassified images (uint8, (m, H, W) or (m, H, W, 3)), each with its
    true class above it and the predicted one after the arrow; the mosaic fills the figure's
    width (no blank margin), so the labels stay legible on a phone."""
    wrong = np.flatnonzero(np.asarray(y_true) != np.asarray(y_pred))[:n]
    if not len(wrong):
        fig = new_figure(WIDTH, 1.2)
        ax = fig.add_subplot()
        title(ax, heading)
        ax.axis("off")
        ax.text(0.5, 0.5, "no test example was misclassified", ha="center", transform=ax.transAxes, fontsize=LABEL)
        return finish(fig)
    tiles = images[wrong].astype(float) / 255
    h, w = tiles.shape[1:3]
    gap, vgap = max(1, w // 3), max(2, round(h * 0.42))  # room beside each tile, and for two lines above it
    picture = mosaic(tiles, cols, gap, vgap)
    picture_height = WIDTH * picture.shape[0] / picture.shape[1]
    lines = len(textwrap.wrap(heading, int(WIDTH * 115 / TITLE)))
    fig = new_figure(WIDTH, picture_height + 0.12 + 0.18 * lines)
    ax = _image_axes(fig, picture_height)
    ax.imshow(picture, cmap="gray" if tiles.ndim == 3 else None, vmin=0, vmax=1, aspect="auto",
              interpolation="nearest")
    for k, i in enumerate(wrong):
        r, c = divmod(k, cols)
        ax.text(gap + c * (w + gap) + w / 2, vgap + r * (h + vgap) - 0.5, f"{class_names[y_true[i]][:14]}\n"
                f"→ {class_names[y_pred[i]][:12]}", ha="center", va="bottom", fontsize=SMALL, color="firebrick",
                linespacing=1.0)
    fig.suptitle("\n".join(textwrap.wrap(heading, int(WIDTH * 115 / TITLE))), fontsize=TITLE, y=1.0, va="top")
    return literal(fig)


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
    fig = new_figure(WIDTH, min(5.2, 1.5 + 0.22 * rows))
    ax = fig.add_subplot()
    limit = np.abs(shown).max() or 1.0
    image = ax.imshow(shown, cmap="RdBu_r", vmin=-limit, vmax=limit, aspect="auto")
    names = (feature_names or [str(i) for i in range(W.shape[0])])[:rows]
    step = _every(rows, 20)
    ax.set_yticks(range(0, rows, step), [names[i][:18] for i in range(0, rows, step)])
    integer_ticks(ax.xaxis)
    ax.set_xlabel("hidden unit")
    _axes_text(ax)
    title(ax, heading)
    bar = fig.colorbar(image, ax=ax)
    bar.set_label("weight", fontsize=LABEL)
    bar.ax.tick_params(labelsize=SMALL)
    return finish(fig)


def _grid(filters: np.ndarray, heading: str, cols: int = 8) -> Figure:
    """Filters (F, h, w, C), each scaled to its own range: RGB when C = 3, else the first
    channel; the grid fills the figure's width."""
    lo = filters.min(axis=(1, 2, 3), keepdims=True)
    span = filters.max(axis=(1, 2, 3), keepdims=True) - lo
    tiles = (filters - lo) / np.where(span > 0, span, 1.0)
    tiles = tiles if tiles.shape[-1] == 3 else tiles[..., 0]
    cols = min(cols, len(tiles))
    gap = max(1, tiles.shape[1] // 8)
    picture = mosaic(tiles, cols, gap)
    width = min(WIDTH, 0.55 * cols + 0.2)
    picture_height = width * picture.shape[0] / picture.shape[1]
    lines = len(textwrap.wrap(heading, int(width * 115 / TITLE)))
    fig = new_figure(width, picture_height + 0.12 + 0.18 * lines)
    ax = _image_axes(fig, picture_height)
    ax.imshow(picture, cmap=None if tiles.ndim == 4 else "RdBu_r", interpolation="nearest", aspect="auto")
    fig.suptitle("\n".join(textwrap.wrap(heading, int(width * 115 / TITLE))), fontsize=TITLE, y=1.0, va="top")
    return literal(fig)
