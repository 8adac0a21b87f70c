"""What every classifier run writes at its end, besides metrics.csv and the summary:
the training curves (the kept epoch marked), the confusion matrix on the test split
(``confusion.csv`` and a picture), the misclassified test images, and a picture of
the first layer's weights. All pipelines call this one function."""

from __future__ import annotations

import numpy as np

from . import plots
from .run import Run

#: the pictures a run folder may hold and what each shows, in the order the report shows
#: them; {validate} and {test} name the split ("the 5,000 validation images")
PICTURES = [
    ("loss.png", "loss per epoch: the cross-entropy on the training batches as they were seen (in training mode) "
                 "and on {validate} after each epoch"),
    ("accuracy.png", "accuracy per epoch on the training batches and on {validate}"),
    ("error.png", "error (1 − accuracy) per epoch on the training batches and on {validate}"),
    ("confusion.png", "confusion matrix on {test}: a row per true class (its accuracy beside its name), a column per "
                      "predicted class"),
    ("misclassified.png", "misclassified examples of {test}, the first in the split's order, each with its true "
                          "class above it and the predicted one after the arrow"),
    ("weights.png", "what the first layer learned: its weights after training, one picture per hidden unit or "
                    "filter, or a heat map over the input features"),
]


def write_outputs(run: Run, title: str, y_true: np.ndarray | None, y_pred: np.ndarray,
                  class_names: list[str], second: str = "accuracy", chosen_epoch: int | None = None,
                  images: np.ndarray | None = None, first_weights: np.ndarray | None = None,
                  image_shape: tuple[int, int] | None = None, feature_names: list[str] | None = None) -> None:
    if not run.writes:
        return
    folder, rows = run.folder, run.log.rows
    plots.save(plots.curves_figure(rows, "loss", title, chosen_epoch), folder.file("loss.png"))
    plots.save(plots.curves_figure(rows, second, title, chosen_epoch), folder.file(f"{second}.png"))
    if first_weights is not None:
        plots.save(plots.weights_figure(first_weights, f"{title}: first-layer weights", image_shape, feature_names),
                   folder.file("weights.png"))
    if y_true is None:  # predictions for unlabelled images (--predict-on): nothing to score
        return
    counts = plots.confusion_matrix(y_true, y_pred, len(class_names))
    folder.write_csv("confusion.csv", [{"true class": name, **dict(zip(class_names, map(int, row)))}
                                       for name, row in zip(class_names, counts)], ["true class", *class_names])
    plots.save(plots.confusion_figure(counts, class_names, f"{title}: test confusion matrix"),
               folder.file("confusion.png"))
    if images is not None:
        plots.save(plots.misclassified_figure(images, y_true, y_pred, class_names,
                                              f"{title}: misclassified test images (true → predicted)"),
                   folder.file("misclassified.png"))
