"""Building ``report.html`` (self-contained: plots embedded, MathML formulas, inline CSS,
no network) and ``report.md`` beside it from finished run folders.

The report opens with the summary table — each deliverable, its bar, our number,
pass/fail — then any stage that was skipped (where we looked for its data and how to
get it) and any folder that could not be read, then one section per pipeline, and the
derivations with their mathematics rendered.
"""

from __future__ import annotations

import html
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from ..runs.files import RunFileError, read_json, write_text
from . import sections
from .collect import Problem, ReportRun, collect
from .deliverables import deliverables
from .doc import Doc, bold


def _status(passed: bool | None) -> tuple[str, str]:
    return {True: ("PASS", "pass"), False: ("FAIL", "fail"), None: ("skipped", "skip")}[passed]


def summary_section(doc: Doc, runs: list[ReportRun], problems: list[Problem]) -> None:
    def problem(run: ReportRun, err: Exception) -> None:
        problems.append(Problem(run.path, f"{run.path / 'summary.json'}: {type(err).__name__}: {err} (a value the "
                                          "report needs is missing or not a number)"))

    doc.heading(2, "Summary", "summary")
    rows, classes = [], []
    for d in deliverables(runs, problem):
        word, cls = _status(d.passed)
        rows.append([d.name, d.bar, d.ours, word])
        classes.append(["", "", "num" if d.ours[:1].isdigit() else "", cls])
    doc.table(["deliverable", "bar", "ours", "result"], rows, classes)


def skipped_section(doc: Doc, stages: list[dict]) -> None:
    for stage in stages:
        if stage.get("status") not in ("skipped", "failed"):
            continue
        doc.para(bold(f"{str(stage.get('status')).capitalize()}: {stage.get('name')}."), " ",
                 str(stage.get("reason", "")).splitlines()[0] if stage.get("reason") else "")
        if stage.get("looked_in"):
            doc.para("Looked in:")
            doc.bullets([str(p) for p in stage["looked_in"]])
        if stage.get("how_to_get"):
            doc.para("To get it:")
            doc.bullets([str(p) for p in stage["how_to_get"]])


def problems_section(doc: Doc, problems: list[Problem]) -> None:
    if problems:
        doc.heading(2, "Folders that could not be read", "problems")
        doc.bullets([p.message for p in problems])


def pipeline_sections(doc: Doc, runs: list[ReportRun], problems: list[Problem]) -> None:
    """Each pipeline's section, from its runs; a run whose files lack what its section needs
    is a problem, and the other sections are still written."""
    from ..pipelines import PIPELINES

    for pipeline in PIPELINES:
        mine = [r for r in runs if r.pipeline in pipeline.run_kinds]
        if not mine:
            continue
        try:
            pipeline.section(doc, mine)
        except (TypeError, KeyError, ValueError, AttributeError, RunFileError) as err:
            problems.append(Problem(mine[0].path, f"{mine[0].path}: the {pipeline.name} section could not be "
                                                  f"written ({type(err).__name__}: {err}); the files in it are not "
                                                  "as backproplab writes them"))


def build_report(dirs: list[str | Path], out: str | Path | None = None, title: str = "backproplab report") -> Path:
    """Write report.html and report.md into ``out`` (default: the first folder); returns the HTML path."""
    runs, problems = collect(dirs)
    out = Path(out) if out is not None else Path(dirs[0])
    out.mkdir(parents=True, exist_ok=True)
    state = {}
    if (out / "all.json").is_file():
        try:
            state = read_json(out / "all.json")
        except RunFileError as err:
            problems.append(Problem(out / "all.json", str(err)))
    doc = Doc(out)
    doc.raw_html(f"<h1>{html.escape(title)}</h1>", f"# {title}\n")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    doc.para(f"Generated {stamp} from {len(runs)} run folder(s) by backproplab report.", css="meta")
    if state.get("quick"):
        doc.para("Quick mode: every stage ran on small slices for a fast check, so the accuracy bars are not "
                 "expected to pass.", css="banner")
    skipped_section(doc, state.get("stages", []) if isinstance(state.get("stages"), list) else [])
    body = Doc(out)  # the sections first, so that their problems make it into the list above them
    pipeline_sections(body, runs, problems)
    summary_section(doc, runs, problems)
    problems_section(doc, problems)
    doc.html += body.html
    doc.md += body.md
    derivations = sections.package_doc("derivations.md")
    doc.heading(2, "Derivations", "derivations")
    if derivations:
        doc.markdown("\n".join(derivations.splitlines()[1:]), shift=1)
    css = resources.files("backproplab.report").joinpath("style.css").read_text(encoding="utf-8")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{css}</style></head><body>\n"
            + "\n".join(doc.html) + "\n</body></html>\n")
    html_path = out / "report.html"
    write_text(html_path, page)
    write_text(out / "report.md", "\n".join(doc.md))
    return html_path
