"""One section of the report per pipeline, each describing its runs from what they wrote
(config.json, summary.json, metrics.csv, sweep.csv and the plots), never from code."""

from __future__ import annotations

import io
from importlib import resources

from ..runs import plots
from ..runs.files import RunFileError, read_metrics
from .collect import ReportRun, number, pct
from .doc import Doc, bold, code

#: the pictures a run folder may hold, in the order the report shows them
PICTURES = [("loss.png", "loss per epoch"), ("accuracy.png", "accuracy per epoch"), ("error.png", "error per epoch"),
            ("confusion.png", "test confusion matrix"), ("misclassified.png", "misclassified test images"),
            ("weights.png", "what the first layer learned")]


def package_doc(name: str) -> str | None:
    """One of the documents shipped inside the package (``backproplab/docs``)."""
    try:
        return resources.files("backproplab").joinpath("docs", name).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None


def run_pictures(doc: Doc, run: ReportRun, title: str) -> None:
    doc.figures([(p, f"{title}: {caption}") for name, caption in PICTURES if (p := run.file(name))])


def facts(doc: Doc, run: ReportRun) -> None:
    """Test accuracy, validation, epochs and time of a run, and its folder."""
    test, wall = number(run, "test_accuracy"), number(run, "wall_seconds") or 0.0
    parts = []
    if test is not None:
        parts += ["test accuracy ", bold(pct(test)), ", "]
    if run.rows and isinstance(run.rows[-1].get("val_accuracy"), float):
        parts.append(f"final validation accuracy {pct(run.rows[-1]['val_accuracy'])}, ")
    parts += [f"{len(run.rows)} epochs, {wall:.0f} s in all on ", str(run.get("device", "cpu")), ". Run folder: ",
              code(run.path.name), "."]
    doc.para(*parts)


def architecture(doc: Doc, run: ReportRun) -> None:
    text = run.get("architecture")
    if isinstance(text, str) and text:
        doc.para("The network as it was built (from the run's summary.json):")
        doc.preformatted(text)


# -- the sections ----------------------------------------------------------------------------


def gradcheck(doc: Doc, runs: list[ReportRun]) -> None:
    for g in runs:
        gradcheck_run(doc, g)


def gradcheck_run(doc: Doc, g: ReportRun) -> None:
    doc.heading(2, "Gradient checks", "gradients")
    doc.para("Every analytic gradient against two-sided finite differences in float64 (relative error "
             "‖num − ana‖ / ‖num + ana‖; the tests also compare every layer with torch.autograd to 1e-10).")
    rows = g.summary.get("rows", [])
    doc.table(["component", "gradient", "shape", "relative error", "result"],
              [[str(r["component"]), str(r["wrt"]), "×".join(map(str, r["shape"])), f"{float(r['error']):.2e}",
                "PASS" if r["passed"] else "FAIL"] for r in rows],
              [["", "", "", "num", "pass" if r["passed"] else "fail"] for r in rows])


def iris(doc: Doc, runs: list[ReportRun]) -> None:
    for r in runs:
        (iris_sweep if r.pipeline == "iris-sweep" else iris_run)(doc, r)


def iris_sweep(doc: Doc, s: ReportRun) -> None:
    doc.heading(2, "Iris: learning rate × hidden size", "iris")
    c = s.config
    doc.para(f"A two-layer network (hidden {c.get('activation')}, softmax output), SGD with momentum "
             f"{c.get('momentum')}, batch {c.get('batch_size')}, {c.get('epochs')} epochs, {c.get('schedule')} "
             f"schedule, seed {c.get('seed')}. Each combination is scored by {c.get('folds')}-fold stratified "
             f"cross-validation repeated {c.get('repeats')} times on the 120 non-test flowers (the error of the "
             "final epoch on each held-out fold); the lowest mean error is chosen (ties: lower mean loss). Each "
             "combination's own run then keeps the epoch with the lowest validation error. Test error is "
             "reported, never used to choose.")
    try:
        rows = read_metrics(s.path / "sweep.csv")
    except RunFileError as err:
        doc.para("The sweep table could not be read: ", str(err))
        return
    doc.table(["lr", "hidden", "CV error (mean ± sd)", "CV loss", "kept epoch", "test error", ""],
              [[f"{r['lr']:g}", str(r["hidden"]), f"{100 * r['cv_error']:.1f}% ± {100 * r['cv_error_std']:.1f}",
                f"{r['cv_loss']:.3f}", str(r["best_epoch"]), f"{100 * r['test_error']:.1f}%",
                "chosen" if r["chosen"] == "True" else ""] for r in rows])
    chosen = s.summary["chosen"]
    doc.para("Chosen: ", bold(f"lr = {float(chosen['lr']):g}, hidden = {int(chosen['hidden'])}"),
             f" — test accuracy {pct(1 - float(chosen['test_error']))} on the fixed split; over "
             f"{len(s.summary.get('splits', []))} other splits (seeds 0 to {len(s.summary.get('splits', [])) - 1}) "
             f"the same settings score {pct(number(s, 'splits_mean'))} ± {pct(number(s, 'splits_std'))} "
             "(mean ± standard deviation): with 30 test flowers one mistake is 3.3 points.")
    run_dir = s.path / str(chosen.get("run", ""))
    if run_dir.is_dir() and run_dir.parent == s.path:
        run_pictures(doc, ReportRun(run_dir, "iris", {}, {}), "Iris, the chosen run")


def iris_run(doc: Doc, r: ReportRun) -> None:
    doc.heading(2, f"Iris run {r.path.name}", "iris-run")
    facts(doc, r)
    run_pictures(doc, r, "Iris")


def fashion(doc: Doc, runs: list[ReportRun]) -> None:
    mlps = [r for r in runs if r.get("model") == "mlp"]
    if mlps:
        fashion_mlps(doc, mlps)
    for r in runs:
        if r.get("model") == "cnn":
            fashion_cnn(doc, r)


def fashion_mlps(doc: Doc, mlps: list[ReportRun]) -> None:
    doc.heading(2, "Fashion-MNIST: the MLP in PyTorch and in NumPy", "fashion")
    for r in mlps:
        c = r.config
        layers = " → ".join(["784", *map(str, c.get("hidden", [])), "10"])
        parts = ["Linear", *(["BatchNorm"] if c.get("batch_norm", True) else []), "ReLU",
                 f"Dropout {c.get('dropout')}"]
        doc.para(bold(f"{r.get('engine')} engine: "), f"dense layers {layers} ({', '.join(parts)}), "
                 f"{c.get('optimizer')} with learning rate {c.get('lr')}, batch {c.get('batch_size')}, "
                 f"{c.get('epochs')} epochs. {c.get('validation')} training images validate; the test images are "
                 "used once, at the end.")
    doc.table(["engine", "epochs", "final validation", "test accuracy", "training time", "parameters"],
              [[str(r.get("engine")), str(r.get("epochs")), pct(number(r, "final_val_accuracy")),
                pct(number(r, "test_accuracy")), f"{number(r, 'train_seconds') or 0:.0f} s",
                f"{int(number(r, 'parameters') or 0):,}"] for r in mlps])
    if len(mlps) > 1 and all(r.rows for r in mlps):
        figure = plots.compare_figure({f"{r.get('engine')} ({r.path.name})": r.rows for r in mlps}, "val_accuracy",
                                      "Fashion-MNIST MLP: validation accuracy, both engines")
        buf = io.BytesIO()
        figure.savefig(buf, format="png")
        doc.figures([(buf.getvalue(), "The same MLP in PyTorch and in NumPy, epoch by epoch")])
    for r in mlps:
        doc.heading(3, f"Fashion-MNIST MLP, {r.get('engine')} engine")
        facts(doc, r)
        run_pictures(doc, r, f"Fashion-MNIST MLP ({r.get('engine')})")


def fashion_cnn(doc: Doc, r: ReportRun) -> None:
    doc.heading(2, "Fashion-MNIST: a CNN in NumPy", "fashion-cnn")
    c = r.config
    doc.para(f"Every layer from backproplab.nn, trained with {c.get('optimizer')} (learning rate {c.get('lr')}, "
             f"batch {c.get('batch_size')}, {c.get('epochs')} epochs).")
    architecture(doc, r)
    facts(doc, r)
    run_pictures(doc, r, "Fashion-MNIST CNN")


def cifar(doc: Doc, runs: list[ReportRun]) -> None:
    for r in runs:
        cifar_run(doc, r)


def cifar_run(doc: Doc, r: ReportRun) -> None:
    doc.heading(2, "CIFAR-10: the CNN", "cifar")
    c = r.config
    doc.para(f"Profile {c.get('profile')}: {int(number(r, 'parameters') or 0):,} parameters, {c.get('epochs')} "
             f"epochs of batch {c.get('batch_size')}, {(number(r, 'train_seconds') or 0) / 60:.1f} minutes of "
             f"training on {r.get('device')}, test-time augmentation level {c.get('tta')}. ",
             *(["predictions.csv: ", code(str(r.path / "predictions.csv")), "."] if r.file("predictions.csv")
               else []))
    architecture(doc, r)
    facts(doc, r)
    run_pictures(doc, r, "CIFAR-10 CNN")
    text = package_doc("cifar10-model.md")
    if text:
        doc.heading(3, "Design of the model and recipe")
        doc.markdown("\n".join(text.splitlines()[1:]), shift=2)
