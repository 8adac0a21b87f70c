"""``class.html`` and ``class.md``: the class report, built like the homework's report
(``report.doc``: every string escaped, the same style sheet, readable on a phone).

It reads the gradebook alone (``tally`` counts it), so it can be rebuilt from
``gradebook.json``; every string that came from a student (names, causes quoting their
exceptions) is passed through ``text.visible`` before the document escapes it for HTML or
Markdown.
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path

from ...report.doc import Doc, bold, code, md_escape
from ...runs.files import write_text
from ..causes import STARTER_IMPORTS
from ..judge import VERDICTS
from ..text import visible
from . import tally

#: how the report adds to the homework report's style sheet: the distribution's bars
EXTRA_CSS = """.bar { display: inline-block; height: .85em; background: #4c78a8; border-radius: 2px;
       vertical-align: middle; }
.who { color: var(--muted); font-size: .9rem; }
td.bars { min-width: 8rem; }"""
#: students named per group of a common mistake before "and N more"
MAX_NAMED = 60


def _pct(x) -> str:
    return "—" if x is None else f"{x:.1f}%"


def _pts(x) -> str:
    return "—" if x is None else f"{x:g}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def header(doc: Doc, book: dict, title: str) -> None:
    g = book["grader"]
    rubric = "one point per part" if g["rubric"] is None else f"the rubric ({_pts(sum(g['rubric'].values()))} " \
                                                              "points named)"
    doc.raw_html(f"<h1>{html.escape(title)}</h1>", f"# {md_escape(title)}\n")
    doc.para(f"{_plural(len(book['submissions']), 'submission')} graded by backproplab {g['version']} "
             f"(grading code {g['digest'][7:19]}), seed {g['seed']}, {rubric}, {len(g['parts'])} parts, each at most "
             f"{g['timeout']:g} s and {g['memory_mb']} MB; isolation: {g['isolation']}.", css="meta")
    kinds = tally.terms(book)
    if len(kinds) > 1 and not g.get("term"):
        doc.para("The packages were recognised as different terms (" + ", ".join(
            f"{term or '?'}: {n}" for term, n in kinds.most_common()) + "), and each was graded on its term's "
            "parts, so their maxima differ. To grade every student on the same parts, give --term or a --rubric.",
            css="banner")


def summary_section(doc: Doc, book: dict) -> None:
    s = tally.summary(book)
    doc.heading(2, "Summary", "summary")
    rows = [("submissions", str(s["submissions"])), ("graded", str(s["graded"])),
            ("could not be graded", str(s["errors"])), ("full marks", str(s["full"])),
            ("mean score", _pct(s["mean"])), ("median score", _pct(s["median"])),
            ("lowest, highest", f"{_pct(s['lowest'])}, {_pct(s['highest'])}")]
    doc.table(["", "students"], [list(r) for r in rows], [["", "num"] for _ in rows])


def environment_banner(doc: Doc, book: dict) -> None:
    """Modules the students' code imports that the grader's Python lacks: the grader's to fix."""
    missing = tally.missing_modules(book)
    if not missing:
        return
    starter = sorted(set(missing) & STARTER_IMPORTS)
    how = (f"pip install 'backproplab[homework]' installs what the course's starter imports ({', '.join(starter)})"
           if starter else "pip install it into the Python that runs backproplab")
    doc.para("Before reading on: the code of " + ", ".join(
        f"{_plural(n, 'student')} imports {module}" for module, n in missing.most_common())
        + ", which is not installed for the Python that grades, so the parts that need it are errors "
          f"(missing-module below). If the homework allowed it, {how}, and grade again with --overwrite.",
        css="banner")


def distribution_section(doc: Doc, book: dict) -> None:
    doc.heading(2, "Score distribution", "distribution")
    rows = tally.histogram(tally.graded(book))
    most = max([n for _, n in rows] + [1])
    body = "".join(f'<tr><td>{html.escape(b)}</td><td class="num">{n}</td><td class="bars"><span class="bar" '
                   f'style="width:{100 * n / most:.1f}%"></span></td></tr>' for b, n in rows)
    md = "| score (%) | students | |\n|---|---:|---|\n" + "".join(
        f"| {md_escape(b)} | {n} | {'█' * round(20 * n / most)} |\n" for b, n in rows)
    doc.raw_html('<div class="scroll"><table><thead><tr><th>score (%)</th><th>students</th><th></th></tr></thead>'
                 f"<tbody>{body}</tbody></table></div>", md)
    errors = len(book["submissions"]) - len(tally.graded(book))
    if errors:
        doc.para(f"Not shown: {_plural(errors, 'submission')} that could not be graded (below).", css="note")


def parts_section(doc: Doc, tallies: list[tally.PartTally], graded: int, rubric: bool) -> None:
    doc.heading(2, "Parts, by the students they cost points", "parts")
    doc.para("Each part with the students it cost points, " + ("what the rubric makes it worth, " if rubric else "")
             + "how many of the graded submissions that have it pass, and how the others fail. A part of another "
               "term's homework is not counted for that student (\"not in term\").")
    rows, classes = [], []
    for t in tallies:
        failing = ", ".join(f"{t.verdicts[v]} {v}" for v in VERDICTS[1:] if t.verdicts[v])
        if t.not_counted:
            failing += f"{'; ' if failing else ''}{t.not_counted} not in term"
        passed = f"{t.verdicts['pass']}\u00a0of\u00a0{t.counted}"  # kept on one line
        rows.append([t.part, str(t.lost), *([_pts(t.worth)] if rubric else []), passed, failing or "—"])
        classes.append(["", "num", *(["num"] if rubric else []), "pass" if t.counted and t.verdicts["pass"] == t.counted
                        else "num", ""])
    doc.table(["part", "students who lost points", *(["worth"] if rubric else []), "pass", "the others"], rows,
              classes)
    if graded == 0:
        doc.para("No submission could be graded.", css="note")


def mistakes_section(doc: Doc, tallies: list[tally.PartTally]) -> None:
    doc.heading(2, "Common mistakes, part by part", "mistakes")
    failing = [t for t in tallies if t.groups]
    if not failing:
        doc.para("Every graded submission passes every part it has.")
        return
    doc.para("Under each part, its mistakes from the most common: a mistake the grader's catalogue names is "
             "counted under that rule, with the sentence most of those students read; the others are grouped by "
             "what differs first. The students who share each are listed.")
    for t in failing:
        doc.heading(3, f"{t.part}: {t.verdicts['pass']} of {t.counted} pass", f"part-{t.part}")
        for g in t.ranked_groups():
            name = code(g.title) if g.rule else bold(f"{g.title} (no catalogue rule names it)")
            doc.para(bold(_plural(len(g.students), "student")), " — ", name, ": ", g.sentence)
            shown = ", ".join(g.students[:MAX_NAMED])
            more = f" and {len(g.students) - MAX_NAMED} more" if len(g.students) > MAX_NAMED else ""
            doc.para(f"{shown}{more}", css="who")


def identical_section(doc: Doc, book: dict) -> None:
    groups = tally.identical_groups(book)
    if not groups:
        return
    doc.heading(2, "Identical submissions", "identical")
    doc.para("Submissions whose packages hold the same .py files, byte for byte once line endings are made the "
             "same. Identical code can be the unchanged starter, a solution that was handed out, or one student's "
             "two uploads: this lists the groups, it judges none.")
    doc.bullets([f"{len(g)} submissions ({_score(g[0])}): " + ", ".join(tally.label(e) for e in g) for g in groups])


def _score(e: dict) -> str:
    return f"{_pts(e['total'])} of {_pts(e['max'])} points" if e["status"] == "graded" else "not graded"


def errors_section(doc: Doc, book: dict) -> None:
    failed = [e for e in book["submissions"] if e["status"] != "graded"]
    if not failed:
        return
    doc.heading(2, "Submissions that could not be graded", "errors")
    doc.para("Each is in the gradebook with status error and no points; its feedback file says the same.")
    doc.table(["submission", "why"], [[tally.label(e), visible(e.get("reason") or "", 600)] for e in failed])


def roster_section(doc: Doc, book: dict) -> None:
    doc.heading(2, "Every submission", "roster")
    rows, classes = [], []
    for e in book["submissions"]:
        failing = [p["part"] for p in e["parts"] if p["counted"] and p["verdict"] != "pass"]
        lost = ", ".join(failing[:6]) + (f" and {len(failing) - 6} more" if len(failing) > 6 else "")
        rows.append([tally.label(e), _score(e), _pct(e["percent"]), e["status"] if e["status"] != "graded" else lost])
        classes.append(["", "num", "num", "fail" if e["status"] != "graded" else ""])
    doc.table(["submission", "points", "percent", "parts failed"], rows, classes)


def changes_section(doc: Doc, changes: dict | None, old_path: str | None) -> None:
    if changes is None:
        return
    doc.heading(2, "Changes since the earlier gradebook", "changes")
    doc.para(f"Compared with {visible(old_path or '')}. " + ("The grader: " + "; ".join(changes["grader"]) + "."
                                                             if changes["grader"] else "The same grader."))
    rows = []
    for item in changes["changed"] + changes["verdicts"]:
        parts = "; ".join(f"{p['part']} {p['old_verdict'] or '—'} → {p['new_verdict'] or '—'} ({p['why']})"
                          for p in item["parts"])
        delta = "" if item["delta"] is None else f"{item['delta']:+g}"
        rows.append([tally.label(item), f"{_pts(item['old_total'])} → {_pts(item['new_total'])}", delta,
                     visible(parts, 800)])
    if rows:
        doc.table(["submission", "points", "change", "parts that changed, and why"], rows)
    else:
        doc.para("No score and no verdict changed.")


def write_class_report(book: dict, out: Path, title: str, changes: dict | None = None,
                       old_path: str | None = None) -> Path:
    """Write class.html and class.md into ``out``; returns the HTML path."""
    ids: set[str] = set()
    head, body = Doc(out, ids), Doc(out, ids)
    tallies = tally.part_tallies(book)
    header(head, book, title)
    environment_banner(head, book)
    summary_section(body, book)
    distribution_section(body, book)
    changes_section(body, changes, old_path)
    errors_section(body, book)
    parts_section(body, tallies, len(tally.graded(book)), book["grader"]["rubric"] is not None)
    mistakes_section(body, tallies)
    identical_section(body, book)
    roster_section(body, book)
    head.contents(body.anchors)
    css = resources.files("backproplab.report").joinpath("style.css").read_text(encoding="utf-8") + EXTRA_CSS
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(title)}</title><style>{css}</style></head><body>\n"
            + "\n".join(head.html + body.html) + "\n</body></html>\n")
    write_text(out / "class.html", page)
    write_text(out / "class.md", "\n".join(head.md + body.md))
    return out / "class.html"
