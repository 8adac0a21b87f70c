"""Building ``report.html`` (self-contained: plots embedded, MathML formulas, inline CSS,
no network) and ``report.md`` beside it from finished run folders.

The report opens with the summary table — each deliverable, its bar, our number,
pass/fail — then any stage that was skipped (where we looked for its data and how to
get it) and any folder that could not be read, the machine and software the runs
recorded, then one section per pipeline, and the derivations with their mathematics
rendered. Figures and tables are numbered in the order of the page.

The report knows the pipelines only through their declarations, which the caller passes
in (``build_report(dirs, PIPELINES)``): what each one's runs record as their kind, its
bars and its section. It reads what the pipelines wrote, never their code.
"""

from __future__ import annotations

import html
import os
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

from ..runs.files import RunFileError, write_text
from ..runs.job import JOB_RECORD, read_job_record
from . import sections
from .collect import NOT_AS_WRITTEN, Problem, ReportRun, collect, looks_like_run
from .deliverables import deliverables
from .doc import Doc, bold, md_escape, number_captions
from .machine import machine_section


def _status(passed: bool | None) -> tuple[str, str]:
    return {True: ("PASS", "pass"), False: ("FAIL", "fail"), None: ("skipped", "skip")}[passed]


def summary_section(doc: Doc, runs: list[ReportRun], pipelines, problems: list[Problem]) -> None:
    def problem(run: ReportRun, err: Exception) -> None:
        problems.append(Problem(run.path, f"{run.path / 'summary.json'}: {type(err).__name__}: {err} (a value the "
                                          "report needs is missing or not a number)"))

    doc.heading(2, "Summary", "summary")
    rows, classes = [], []
    for d in deliverables(runs, pipelines, problem):
        word, cls = _status(d.passed)
        rows.append([d.name, d.bar, d.ours, word])
        classes.append(["", "", "num" if d.ours[:1].isdigit() and len(d.ours) <= 24 else "", cls])
    doc.table(["deliverable", "bar", "ours", "result"], rows, classes,
              caption="Each deliverable of the homework: the bar it must pass, this report's number (a timed one "
                      "with the machine it was measured on) and the verdict.")


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


def pipeline_sections(doc: Doc, runs: list[ReportRun], pipelines, problems: list[Problem]) -> None:
    """Each pipeline's section, from its runs. A run whose files lack what its section needs
    is a problem (found by writing the section of each run alone), and the section is
    written from the others."""
    def attempt(pipeline, group: list[ReportRun]) -> Doc | Exception:
        trial = Doc(doc.out, set(doc.ids))
        try:
            pipeline.section(trial, group)
        except NOT_AS_WRITTEN as err:
            return err
        return trial

    def problem(pipeline, run: ReportRun, err: Exception) -> None:
        problems.append(Problem(run.path, f"{run.path}: left out of the {pipeline.name} section "
                                          f"({type(err).__name__}: {str(err)[:300]}); its files are not as "
                                          "backproplab writes them"))

    for pipeline in pipelines:
        mine = [r for r in runs if r.pipeline in pipeline.run_kinds]
        if not mine:
            continue
        written = attempt(pipeline, mine)
        if isinstance(written, Exception):
            alone = {id(r): attempt(pipeline, [r]) for r in mine}
            failed = [r for r in mine if isinstance(alone[id(r)], Exception)] or mine
            for r in failed:
                problem(pipeline, r, alone[id(r)] if isinstance(alone[id(r)], Exception) else written)
            rest = [r for r in mine if r not in failed]
            written = attempt(pipeline, rest) if rest else None
            if isinstance(written, Exception):
                for r in rest:
                    problem(pipeline, r, written)
                written = None
        if written is not None:
            doc.extend(written)


def default_out(dirs: list[str | Path]) -> Path:
    """Where a report goes: into the folder named when it holds runs, beside the run folders
    named otherwise (their common parent), never into a run folder itself."""
    homes = [p.parent if looks_like_run(p) else p for p in map(Path, dirs) if p.is_dir()]
    if not homes:
        return Path(dirs[0])
    try:
        return Path(os.path.commonpath([str(h.resolve()) for h in homes]))
    except ValueError:  # folders on different drives (Windows)
        return homes[0]


def job_record(out: Path, problems: list[Problem]) -> dict:
    """The record of the ``all`` job that wrote ``out`` ({} when there is none)."""
    if not os.path.lexists(out / JOB_RECORD):
        return {}
    try:
        return read_job_record(out / JOB_RECORD)
    except RunFileError as err:
        problems.append(Problem(out / JOB_RECORD, str(err)))
        return {}


def page_html(title: str, parts: list[Doc]) -> str:
    css = resources.files("backproplab.report").joinpath("style.css").read_text(encoding="utf-8")
    body = number_captions([line for d in parts for line in d.html])
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{css}</style></head><body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def build_report(dirs: list[str | Path], pipelines, out: str | Path | None = None,
                 title: str = "backproplab report", problems: list[Problem] | None = None) -> Path:
    """Write report.html and report.md into ``out`` (default: ``default_out``) from the runs
    of the declared ``pipelines`` (``backproplab.pipelines.PIPELINES``) found in ``dirs``;
    returns the HTML path. The folders that could not be read (listed in the report) are
    appended to ``problems`` when a list is given."""
    runs, found = collect(dirs, [kind for p in pipelines for kind in p.run_kinds])
    problems = [] if problems is None else problems
    problems.extend(found)
    out = Path(out) if out is not None else default_out(dirs)
    out.mkdir(parents=True, exist_ok=True)
    state = job_record(out, problems)
    ids: set[str] = set()
    head, front, body, tail = (Doc(out, ids) for _ in range(4))
    pipeline_sections(body, runs, pipelines, problems)  # first, so that its problems make it into the list above it
    problems += [Problem(out, refused) for refused in body.refused]
    head.raw_html(f"<h1>{html.escape(title)}</h1>", f"# {md_escape(title)}\n")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    head.para(f"Generated {stamp} from {len(runs)} run folder(s) by backproplab report.", css="meta")
    if state.get("quick"):
        head.para("Quick mode: every stage ran on small slices for a fast check, so the accuracy bars are not "
                  "expected to pass.", css="banner")
    skipped_section(front, state.get("stages", []))
    summary_section(front, runs, pipelines, problems)
    problems_section(front, problems)
    machine_section(front, runs)
    tail.heading(2, "Derivations", "derivations")
    derivations = sections.package_doc("derivations.md")
    if derivations:
        tail.markdown("\n".join(derivations.splitlines()[1:]), top=3)
    head.contents(front.anchors + body.anchors + tail.anchors)
    parts = [head, front, body, tail]
    html_path = out / "report.html"
    write_text(html_path, page_html(title, parts))
    write_text(out / "report.md", "\n".join(number_captions([line for d in parts for line in d.md])))
    return html_path
