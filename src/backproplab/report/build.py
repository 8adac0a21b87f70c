"""Building ``report.html`` (self-contained: plots embedded, MathML formulas, inline CSS,
no network) and ``report.md`` beside it from finished run folders.

The report opens with the summary table — each deliverable, its bar, our number,
pass/fail — then one section per part with its plots and tables, the CIFAR-10 design
notes, and the derivations with their mathematics rendered.
"""

from __future__ import annotations

import base64
import html
import json
import os
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from ..runs.folder import write_text
from .collect import Deliverable, Run, collect, deliverables, pct
from .markdown import markdown_to_html


def docs_dir() -> Path | None:
    """The project's docs/ folder (present in a source checkout, where `make run` runs)."""
    for parent in Path(__file__).resolve().parents:
        if (parent / "docs" / "derivations.md").is_file():
            return parent / "docs"
    return None


class Doc:
    """The report as parallel HTML and Markdown fragments."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.html: list[str] = []
        self.md: list[str] = []

    def heading(self, level: int, text: str, anchor: str | None = None) -> None:
        ident = f' id="{anchor}"' if anchor else ""
        self.html.append(f"<h{level}{ident}>{html.escape(text)}</h{level}>")
        self.md.append(f"{'#' * level} {text}\n")

    def paragraph(self, text: str) -> None:
        self.html.append(markdown_to_html(text))
        self.md.append(text + "\n")

    def markdown(self, text: str, shift: int = 1) -> None:
        """A Markdown document, its headings moved down ``shift`` levels."""
        lines = [("#" * shift + line) if line.startswith("#") else line for line in text.splitlines()]
        text = "\n".join(lines)
        self.html.append(markdown_to_html(text))
        self.md.append(text + "\n")

    def table(self, header: list[str], rows: list[list[str]], classes: list[list[str]] | None = None) -> None:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
        body = []
        for i, row in enumerate(rows):
            cells = []
            for j, cell in enumerate(row):
                cls = classes[i][j] if classes else ""
                cells.append(f'<td class="{cls}">{html.escape(cell)}</td>' if cls else f"<td>{html.escape(cell)}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        self.html.append(f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}'
                         "</tbody></table></div>")
        self.md.append("| " + " | ".join(header) + " |\n|" + "---|" * len(header) + "\n"
                       + "".join("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |\n" for r in rows))

    def figures(self, images: list[tuple[Path, str]]) -> None:
        """PNG plots: embedded as data URIs in the HTML, linked relatively in the Markdown."""
        figs = []
        for path, caption in images:
            data = base64.b64encode(path.read_bytes()).decode("ascii")
            figs.append(f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(caption)}">'
                        f"<figcaption>{html.escape(caption)}</figcaption></figure>")
            self.md.append(f"![{caption}]({os.path.relpath(path, self.out).replace(os.sep, '/')})\n")
        self.html.append('<div class="plots">' + "".join(figs) + "</div>")

    def raw_html(self, fragment: str, md: str) -> None:
        self.html.append(fragment)
        self.md.append(md)


def _status(passed: bool | None) -> tuple[str, str]:
    return {True: ("PASS", "pass"), False: ("FAIL", "fail"), None: ("skipped", "skip")}[passed]


def summary_section(doc: Doc, items: list[Deliverable]) -> None:
    doc.heading(2, "Summary", "summary")
    rows, classes = [], []
    for d in items:
        word, cls = _status(d.passed)
        rows.append([d.name, d.bar, d.ours, word])
        classes.append(["", "", "num" if d.ours[:1].isdigit() else "", cls])
    doc.table(["deliverable", "bar", "ours", "result"], rows, classes)


def curves_section(doc: Doc, run: Run, title: str, second: str = "accuracy") -> None:
    doc.heading(3, title)
    last = run.rows[-1] if run.rows else {}
    s = run.summary
    facts = [f"{len(run.rows)} epochs", f"{s.get('wall_seconds', 0):.0f} s in all on {s.get('device', 'cpu')}"]
    if "test_accuracy" in s:
        facts.insert(0, f"test accuracy **{pct(s['test_accuracy'])}**")
    if last and "val_accuracy" in last:
        facts.insert(1, f"final validation accuracy {pct(last['val_accuracy'])}")
    doc.paragraph(", ".join(facts) + f". Run folder: `{run.path.name}`.")
    images = [(p, f"{title}: {n}") for n, p in (("loss per epoch", run.file("loss.png")),
                                                  (f"{second} per epoch", run.file(f"{second}.png"))) if p]
    if images:
        doc.figures(images)


def build_report(dirs: list[str | Path], out: str | Path | None = None, title: str = "backproplab report") -> Path:
    """Write report.html and report.md into ``out`` (default: the first folder); returns the HTML path."""
    runs = collect(dirs)
    out = Path(out) if out is not None else Path(dirs[0])
    out.mkdir(parents=True, exist_ok=True)
    doc = Doc(out)
    state = {}
    if (out / "all.json").is_file():
        state = json.loads((out / "all.json").read_text(encoding="utf-8"))
    items = deliverables(runs)

    doc.raw_html(f"<h1>{html.escape(title)}</h1>", f"# {title}\n")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    doc.paragraph(f"Generated {stamp} from {len(runs)} run folder(s) by `backproplab report`.")
    if state.get("quick"):
        doc.raw_html('<p class="banner">Quick mode: every stage ran on small slices for a fast check, so the '
                     "accuracy bars are not expected to pass.</p>",
                     "> Quick mode: every stage ran on small slices, so the accuracy bars are not expected to pass.\n")
    for stage in state.get("stages", []):
        if stage.get("status") == "skipped":
            doc.paragraph(f"**Skipped: {stage['name']}.** {stage['reason']}")
    summary_section(doc, items)

    by_pipeline: dict[str, list[Run]] = {}
    for r in runs:
        by_pipeline.setdefault(r.pipeline, []).append(r)

    for g in by_pipeline.get("gradcheck", []):
        doc.heading(2, "Gradient checks", "gradients")
        doc.paragraph("Every analytic gradient against two-sided finite differences in float64 "
                      "(relative error ‖num − ana‖ / ‖num + ana‖; the tests also compare every layer with "
                      "torch.autograd to 1e-10).")
        doc.table(["component", "gradient", "shape", "relative error", "result"],
                  [[r["component"], r["wrt"], "×".join(map(str, r["shape"])), f"{r['error']:.2e}",
                    "PASS" if r["passed"] else "FAIL"] for r in g.summary["rows"]],
                  [["", "", "", "num", "pass" if r["passed"] else "fail"] for r in g.summary["rows"]])

    for s in by_pipeline.get("iris-sweep", []):
        doc.heading(2, "Iris: learning rate × hidden size", "iris")
        md = (s.path / "sweep.md").read_text(encoding="utf-8")
        body = "\n".join(line for line in md.splitlines()[1:] if not line.startswith("![")).strip()
        doc.markdown(body, shift=0)
        best = s.path / "best_loss.png"
        if best.is_file():
            doc.figures([(best, "Iris: training and validation loss of the chosen run")])
    for r in by_pipeline.get("iris", []):
        doc.heading(2, "Iris", "iris")
        curves_section(doc, r, f"Iris run {r.path.name}", second="error")

    fashion = by_pipeline.get("fashion", [])
    mlps = [r for r in fashion if r.summary["model"] == "mlp"]
    if mlps:
        doc.heading(2, "Fashion-MNIST: the MLP in PyTorch and in NumPy", "fashion")
        doc.paragraph("Dense layers 784 → 512 → 512 → 10 (Linear, BatchNorm, ReLU, Dropout), the same recipe in "
                      "both engines. 5,000 training images validate; the 10,000 test images are used once, at the end.")
        doc.table(["engine", "epochs", "final validation", "test accuracy", "training time", "parameters"],
                  [[r.summary["engine"], str(r.summary["epochs"]), pct(r.summary["final_val_accuracy"]),
                    pct(r.summary["test_accuracy"]), f"{r.summary['train_seconds']:.0f} s",
                    f"{r.summary['parameters']:,}"] for r in mlps])
        for r in mlps:
            curves_section(doc, r, f"Fashion-MNIST MLP, {r.summary['engine']} engine")
    for r in (r for r in fashion if r.summary["model"] == "cnn"):
        doc.heading(2, "Fashion-MNIST: a CNN in NumPy", "fashion-cnn")
        doc.paragraph("Conv 3×3 (16) → max-pool → conv 3×3 (32) → max-pool → dense 128 → softmax, every layer "
                      "from backproplab.nn, trained with Adam.")
        curves_section(doc, r, "Fashion-MNIST CNN, NumPy engine")

    for r in by_pipeline.get("cifar", []):
        doc.heading(2, "CIFAR-10: the CNN", "cifar")
        preds = r.file("predictions.csv")
        doc.paragraph(f"Profile `{r.summary['profile']}`, {r.summary['parameters']:,} parameters, "
                      f"{r.summary['train_seconds'] / 60:.1f} minutes of training on {r.summary['device']}. "
                      + (f"predictions.csv: `{preds}`." if preds else ""))
        curves_section(doc, r, "CIFAR-10 CNN")
        docs = docs_dir()
        if docs and (docs / "cifar10-model.md").is_file():
            doc.heading(3, "Design of the model and recipe")
            text = (docs / "cifar10-model.md").read_text(encoding="utf-8")
            doc.markdown("\n".join(text.splitlines()[1:]), shift=2)

    docs = docs_dir()
    doc.heading(2, "Derivations", "derivations")
    if docs:
        text = (docs / "derivations.md").read_text(encoding="utf-8")
        doc.markdown("\n".join(text.splitlines()[1:]), shift=1)
    else:
        doc.paragraph("docs/derivations.md was not found beside this installation (it ships with the source).")

    css = resources.files("backproplab.report").joinpath("style.css").read_text(encoding="utf-8")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{css}</style></head><body>\n"
            + "\n".join(doc.html) + "\n</body></html>\n")
    html_path = out / "report.html"
    write_text(html_path, page)
    write_text(out / "report.md", "\n".join(doc.md))
    return html_path
