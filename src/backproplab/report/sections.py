"""One section of the report per pipeline (each pipeline's declaration names its own, with
the facts about it the section needs bound in), describing its runs from what they wrote
(config.json, summary.json, metrics.csv, sweep.csv and the pictures), never from code:
every number in a sentence is the run's. Each figure's caption says what it shows and on
which split, with the split's size as the run recorded it."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..runs import plots
from ..runs.files import RunFileError, read_json, read_metrics
from ..runs.outputs import PICTURES
from ..runs.values import number, pct
from .collect import ReportRun
from .doc import Doc, bold, code


def package_doc(name: str) -> str | None:
    """One of the documents shipped inside the package (``backproplab/docs``)."""
    try:
        return resources.files("backproplab").joinpath("docs", name).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None


def plural(n, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def show(value) -> str:
    """A recorded value as a person reads it (a number to 4 significant digits)."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def mixup_note(run: ReportRun) -> str | None:
    """Why the training curves of a mixup run sit below validation (None without mixup);
    the epochs trained on mixed images are the ones the run recorded."""
    alpha, epochs, mixed = number(run, "mixup"), number(run, "epochs"), number(run, "mixup_epochs")
    if not alpha or not epochs:
        return None
    when = ""
    if mixed is not None:
        tail = f"; epochs {mixed + 1:.0f}–{epochs:.0f} train on clean images" if mixed < epochs else ""
        when = f", in epochs 1–{mixed:.0f}{tail}"
    return (f"The training loss and accuracy are measured on the mixed images the network trains on (mixup, "
            f"α = {alpha:g}{when}), so they sit below the validation curves, which see clean "
            "images: a mixed image's label is itself a blend, and no prediction can match it fully.")


def split_names(run: ReportRun, unit: str) -> dict[str, str]:
    """Each split as a caption names it, with the size the run recorded ("the 5,000
    validation images"; "the validation images" when the run recorded none)."""
    sizes = run.config.get("splits") if isinstance(run.config.get("splits"), dict) else {}
    words = {"validate": "validation", "test": "test"}
    out = {}
    for split, word in words.items():
        n = sizes.get(split)
        known = isinstance(n, int) and not isinstance(n, bool)
        out[split] = f"the {n:,} {word} {unit}" if known else f"the {word} {unit}"
    return out


def run_pictures(doc: Doc, run: ReportRun, title: str, unit: str = "images") -> None:
    names = split_names(run, unit)
    kept = " (the dashed line: the epoch kept, the lowest validation error)" if number(run, "best_epoch") else ""
    doc.figures([(p, f"{title}: {caption.format(**names)}{kept if name in ('loss.png', 'error.png') else ''}.")
                 for name, caption in PICTURES if (p := run.file(name))], note=mixup_note(run))


def facts(doc: Doc, run: ReportRun) -> None:
    """Test accuracy, validation, epochs and time of a run, and its folder."""
    test, wall = number(run, "test_accuracy"), number(run, "wall_seconds") or 0.0
    parts = []
    if test is not None:
        parts += ["test accuracy ", bold(pct(test)), ", "]
    if run.rows and isinstance(run.rows[-1].get("val_accuracy"), float):
        parts.append(f"final validation accuracy {pct(run.rows[-1]['val_accuracy'])}, ")
    parts += [f"{plural(len(run.rows), 'epoch')}, {wall:.0f} s in all on ", str(run.get("device", "cpu")),
              " (see Machine and software). Run folder: ", code(run.path.name), "."]
    doc.para(*parts)


def split_sizes(run: ReportRun) -> str:
    """The split sizes config.json records, as a sentence."""
    sizes = run.config.get("splits") if isinstance(run.config.get("splits"), dict) else {}
    known = {k: v for k, v in sizes.items() if isinstance(v, int) and not isinstance(v, bool)}
    if not {"train", "validate", "test"} <= set(known):
        return ""
    return (f"{known['train']:,} images train, {known['validate']:,} validate, and {known['test']:,} test images "
            "are used once, at the end.")


def architecture(doc: Doc, run: ReportRun) -> None:
    text = run.get("architecture")
    if isinstance(text, str) and text:
        doc.para("The network as it was built (from the run's summary.json):")
        doc.preformatted(text)


def named(title: str, run: ReportRun, runs: list) -> str:
    """A heading, with the run's folder when several runs share it."""
    return f"{title}: {run.path.name}" if len(runs) > 1 else title


# -- the sections ----------------------------------------------------------------------------


def gradcheck(doc: Doc, runs: list[ReportRun]) -> None:
    for g in runs:
        doc.heading(2, named("Gradient checks", g, runs), "gradients")
        doc.para("Every analytic gradient of this run against two-sided finite differences in float64 (relative "
                 "error ‖num − ana‖ / ‖num + ana‖). Beyond this run, the project's test suite compares every layer "
                 "with torch.autograd.")
        rows = g.summary.get("rows", [])
        doc.table(["component", "gradient", "shape", "relative error", "result"],
                  [[str(r["component"]), str(r["wrt"]), "×".join(map(str, r["shape"])), f"{float(r['error']):.2e}",
                    "PASS" if r["passed"] else "FAIL"] for r in rows],
                  [["", "", "", "num", "pass" if r["passed"] else "fail"] for r in rows],
                  caption=f"Each gradient checked on seeded random inputs (seed {show(g.get('seed', '—'))}): the "
                          "component, the array the gradient is taken with respect to, its shape, and the relative "
                          "error.")


def iris(doc: Doc, runs: list[ReportRun], sweep_kind: str) -> None:
    """Iris: each sweep (its runs record ``sweep_kind``), then each single run."""
    sweeps = [r for r in runs if r.pipeline == sweep_kind]
    singles = [r for r in runs if r.pipeline != sweep_kind]
    for s in sweeps:
        iris_sweep(doc, s, sweeps)
    for r in singles:
        doc.heading(2, f"Iris run {r.path.name}", "iris-run")
        facts(doc, r)
        run_pictures(doc, r, "Iris", unit="rows")


def iris_sweep(doc: Doc, s: ReportRun, sweeps: list[ReportRun]) -> None:
    doc.heading(2, named("Iris: learning rate × hidden size", s, sweeps), "iris")
    c = s.config
    data = "Iris" if not c.get("csv") else f"the CSV {c.get('csv')}"
    rows_cv = number(s, "cv_rows")
    doc.para(f"A two-layer network on {data} (hidden {c.get('activation')}, softmax output), SGD with momentum "
             f"{c.get('momentum')}, batch {c.get('batch_size')}, {plural(c.get('epochs'), 'epoch')}, "
             f"{c.get('schedule')} schedule, seed {c.get('seed')}. Each combination is scored by {c.get('folds')}-fold "
             f"stratified cross-validation repeated {c.get('repeats')} times on the "
             f"{f'{rows_cv:.0f} ' if rows_cv else ''}non-test rows (the error of the final epoch on each held-out "
             "fold); the lowest mean error is chosen (ties: lower mean loss). Each combination's own run then keeps "
             "the epoch with the lowest validation error. Test error is reported, never used to choose.")
    try:
        rows = read_metrics(s.path / "sweep.csv")
    except RunFileError as err:
        doc.para("The sweep table could not be read: ", str(err))
        return
    doc.table(["lr", "hidden", "CV error (mean ± sd)", "CV loss", "kept epoch", "test error", ""],
              [[f"{r['lr']:g}", str(r["hidden"]), f"{100 * r['cv_error']:.1f}% ± {100 * r['cv_error_std']:.1f}",
                f"{r['cv_loss']:.3f}", str(r["best_epoch"]), f"{100 * r['test_error']:.1f}%",
                "chosen" if r["chosen"] == "True" else ""] for r in rows],
              caption="Each combination of the sweep: its cross-validation error and loss on the non-test rows "
                      "(what chooses), the epoch its own run kept (by validation error), and its error on the test "
                      "rows of the fixed split (reported only).")
    chosen, splits = s.summary["chosen"], s.summary.get("splits", [])
    other = (f"; over {plural(len(splits), 'other split')} (seeds 0 to {len(splits) - 1}) the same settings score "
             f"{pct(number(s, 'splits_mean'))} ± {pct(number(s, 'splits_std'))} (mean ± standard deviation)"
             if splits else "")
    doc.para("Chosen: ", bold(f"lr = {float(chosen['lr']):g}, hidden = {int(chosen['hidden'])}"),
             f" — test accuracy {pct(1 - float(chosen['test_error']))} on the fixed split{other}.")
    name = str(chosen.get("run", ""))
    run_dir = s.path / name
    if name not in ("", ".", "..") and Path(name).name == name and run_dir.is_dir() and not run_dir.is_symlink():
        try:
            member = ReportRun(run_dir, s.pipeline, read_json(run_dir / "config.json"),
                               read_json(run_dir / "summary.json"))
        except (OSError, RunFileError):
            member = ReportRun(run_dir, s.pipeline, {}, {})
        run_pictures(doc, member, f"Iris, the chosen run {name}", unit="rows")


def fashion(doc: Doc, runs: list[ReportRun]) -> None:
    mlps = [r for r in runs if r.get("model") == "mlp"]
    if mlps:
        fashion_mlps(doc, mlps)
    cnns = [r for r in runs if r.get("model") == "cnn"]
    for r in cnns:
        doc.heading(2, named("Fashion-MNIST: a CNN in NumPy", r, cnns), "fashion-cnn")
        c = r.config
        doc.para(f"Every layer from backproplab.nn, trained with {c.get('optimizer')} (learning rate "
                 f"{show(c.get('lr'))}, batch {c.get('batch_size')}, {plural(c.get('epochs'), 'epoch')}). ",
                 split_sizes(r))
        architecture(doc, r)
        facts(doc, r)
        run_pictures(doc, r, f"Fashion-MNIST CNN ({r.path.name})")


def fashion_mlps(doc: Doc, mlps: list[ReportRun]) -> None:
    doc.heading(2, "Fashion-MNIST: the MLP in PyTorch and in NumPy", "fashion")
    for r in mlps:
        c = r.config
        layers = " → ".join(["784", *map(str, c.get("hidden", [])), "10"])
        parts = ["Linear", *(["BatchNorm"] if c.get("batch_norm", True) else []), "ReLU",
                 f"Dropout {c.get('dropout')}"]
        doc.para(bold(f"{r.get('engine')} engine ({r.path.name}): "), f"dense layers {layers} ({', '.join(parts)}), "
                 f"{c.get('optimizer')} with learning rate {show(c.get('lr'))}, batch {c.get('batch_size')}, "
                 f"{plural(c.get('epochs'), 'epoch')}. ", split_sizes(r))
    doc.table(["run", "engine", "epochs", "final validation", "test accuracy", "training time", "parameters"],
              [[r.path.name, str(r.get("engine")), str(r.get("epochs")), pct(number(r, "final_val_accuracy")),
                pct(number(r, "test_accuracy")), f"{number(r, 'train_seconds') or 0:.0f} s",
                f"{int(number(r, 'parameters') or 0):,}"] for r in mlps],
              caption="The MLP runs side by side: accuracy on the validation split after the last epoch and on the "
                      "test split, and the seconds spent training (on the machine of Machine and software).")
    if len(mlps) > 1 and all(r.rows for r in mlps):
        figure = plots.compare_figure({f"{r.get('engine')} ({r.path.name})": r.rows for r in mlps}, "val_accuracy",
                                      "Fashion-MNIST MLP: validation accuracy of each run")
        val = split_names(mlps[0], "images")["validate"]
        doc.figures([(plots.png_bytes(figure), f"The MLP runs, epoch by epoch: accuracy on {val} after each epoch.")])
    for r in mlps:
        doc.heading(3, f"Fashion-MNIST MLP, {r.get('engine')} engine: {r.path.name}")
        facts(doc, r)
        run_pictures(doc, r, f"Fashion-MNIST MLP, {r.get('engine')} engine ({r.path.name})")


def cifar(doc: Doc, runs: list[ReportRun], design: tuple[str, tuple[str, ...]] | None = None) -> None:
    """CIFAR-10: each run, then the design essay's sections ``design`` = (document, the
    headings of its sections that the report includes: the design, not its measurements)."""
    for r in runs:
        doc.heading(2, named("CIFAR-10: the CNN", r, runs), "cifar")
        c = r.config
        doc.para(f"Profile {c.get('profile')}: {int(number(r, 'parameters') or 0):,} parameters, "
                 f"{plural(c.get('epochs'), 'epoch')} of batch {c.get('batch_size')}, "
                 f"{(number(r, 'train_seconds') or 0) / 60:.1f} minutes of training on {r.get('device')}, "
                 f"test-time augmentation level {c.get('tta')}. ", split_sizes(r), " ",
                 *(["predictions.csv: ", code(str(r.path / "predictions.csv")), "."] if r.file("predictions.csv")
                   else []))
        architecture(doc, r)
        facts(doc, r)
        run_pictures(doc, r, f"CIFAR-10 CNN ({r.path.name})")
    if design:
        design_essay(doc, *design)


def design_essay(doc: Doc, name: str, included: tuple[str, ...]) -> None:
    """The sections ``included`` of the shipped document ``name``, once, whatever the number
    of runs: the design and the recipe. Its measurements (another machine, another day) stay
    in the document, which the section names."""
    text = package_doc(name)
    if not text:
        return
    chosen, keep = [], False
    for line in text.splitlines()[1:]:
        if line.startswith("## "):
            keep = line[3:].strip() in included
        if keep:
            chosen.append(line)
    doc.heading(2, "CIFAR-10: design of the model and recipe", "cifar-design")
    doc.para("The design, from the project's document docs/", name, " (shipped in the package). Its measurements — "
             "on the machine benchmarks/RESULTS.md names, not this run's — are in that document; this run's numbers "
             "are in the section above.")
    doc.markdown("\n".join(chosen), top=3)
