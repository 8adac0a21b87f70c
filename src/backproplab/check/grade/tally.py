"""What a class got right and wrong, counted from a gradebook (``gradebook.gradebook``), for
the class report: the score distribution, each part's verdicts and the students it cost
points, the common mistakes of each part with the students who share them, and the
submissions whose code is identical.

A mistake that a catalogue rule names counts under that rule (a part with two named
mistakes counts under both); one no rule names is grouped by what the part's cause says
first: the output that differs (``dX differs``), the wrong shape, or the exception raised.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from ..judge import VERDICTS
from ..text import visible

#: the score bins of the distribution (percent, lower bound inclusive); full marks apart
BINS = tuple(range(90, -1, -10))
_DIFFERS = re.compile(r"^(?P<what>.{1,80}?) differs: ")
_SHAPE = re.compile(r"^(?P<what>.{1,80}?): shape ")
_IMPORTS = re.compile(r"the code imports (?P<module>[\w.]{1,80}) \(")
_RAISES = re.compile(r"raises (?P<type>[A-Za-z_][\w.]{0,80})")


def label(e: dict) -> str:
    """A submission as the instructor reads it: its name, and the students' names if known."""
    name = visible(e["submission"], 80)
    return f"{name} ({visible(e['name'], 80)})" if e.get("name") else name


def graded(book: dict) -> list[dict]:
    return [e for e in book["submissions"] if e["status"] == "graded"]


def histogram(entries: list[dict]) -> list[tuple[str, int]]:
    """(bin, how many) from full marks down; a submission worth nothing counts in none."""
    scores = [e["percent"] for e in entries if e["percent"] is not None]
    rows = [("100", sum(s >= 100 for s in scores))]
    for low in BINS:
        rows.append((f"{low} to <{low + 10}", sum(low <= s < low + 10 for s in scores)))
    return rows


def summary(book: dict) -> dict:
    scores = sorted(e["percent"] for e in graded(book) if e["percent"] is not None)
    n = len(scores)
    median = (scores[n // 2] if n % 2 else (scores[n // 2 - 1] + scores[n // 2]) / 2) if n else None
    return {"submissions": len(book["submissions"]), "graded": len(graded(book)),
            "errors": len(book["submissions"]) - len(graded(book)), "full": sum(s >= 100 for s in scores),
            "mean": sum(scores) / n if n else None, "median": median, "lowest": scores[0] if n else None,
            "highest": scores[-1] if n else None}


@dataclass
class CauseGroup:
    rule: str | None  # the catalogue rule, or None for a mistake no rule names
    title: str  # the rule id, or what the unnamed ones share ("dX differs")
    students: list[str] = field(default_factory=list)
    sentences: Counter = field(default_factory=Counter)  # the causes as the students read them

    @property
    def sentence(self) -> str:
        """The cause most of them read (the first in order among equals)."""
        return min(self.sentences.items(), key=lambda kv: (-kv[1], kv[0]))[0] if self.sentences else ""


@dataclass
class PartTally:
    part: str
    order: int
    worth: float = 0.0  # the most the part is worth to a student who has it
    verdicts: Counter = field(default_factory=Counter)  # counted verdicts
    not_counted: int = 0  # the class is not in the student's term's homework
    lost: int = 0  # students it cost points
    lost_points: float = 0.0
    groups: dict[tuple, CauseGroup] = field(default_factory=dict)

    @property
    def counted(self) -> int:
        return sum(self.verdicts.values())

    def ranked_groups(self) -> list[CauseGroup]:
        return sorted(self.groups.values(), key=lambda g: (-len(g.students), g.rule is None, g.title))


def mistake_keys(p: dict) -> list[tuple[str | None, str]]:
    """(rule, title) of each mistake a failing part shows."""
    rules = [r for r in (p.get("rules") or ([p["rule"]] if p.get("rule") else [])) if r]
    if rules:
        return [(rule, rule) for rule in rules]
    cause = p.get("cause") or ""
    for pattern, title in ((_DIFFERS, "{what} differs"), (_SHAPE, "{what} has the wrong shape"),
                           (_RAISES, "raises {type}")):
        found = pattern.search(cause) if pattern is _RAISES else pattern.match(cause)
        if found:
            return [(None, title.format(**{k: visible(v) for k, v in found.groupdict().items()}))]
    return [(None, p["verdict"])]


def part_tallies(book: dict) -> list[PartTally]:
    """Every part of the gradebook, ranked by the students it cost points (then the points)."""
    tallies = {name: PartTally(name, i) for i, name in enumerate(book["grader"]["parts"])}
    for e in graded(book):
        for p in e["parts"]:
            t = tallies.setdefault(p["part"], PartTally(p["part"], len(tallies)))
            if not p["counted"]:
                t.not_counted += 1
                continue
            t.verdicts[p["verdict"]] += 1
            t.worth = max(t.worth, p["worth"])
            if p["verdict"] == "pass":
                continue
            if p["worth"] > 0:
                t.lost, t.lost_points = t.lost + 1, t.lost_points + p["worth"]
            for rule, title in mistake_keys(p):
                group = t.groups.setdefault((rule, title), CauseGroup(rule, title))
                group.students.append(label(e))
                group.sentences[visible(p.get("cause") or p["verdict"], 600)] += 1
    return sorted(tallies.values(), key=lambda t: (-t.lost, -t.lost_points, -sum(
        t.verdicts[v] for v in VERDICTS[1:]), t.order))


def identical_groups(book: dict) -> list[list[dict]]:
    """Submissions whose packages hold the same .py files (two or more), largest group first."""
    by_print: dict[str, list[dict]] = {}
    for e in book["submissions"]:
        if e.get("fingerprint"):
            by_print.setdefault(e["fingerprint"], []).append(e)
    groups = [g for g in by_print.values() if len(g) > 1]
    return sorted(groups, key=lambda g: (-len(g), g[0]["submission"]))


def terms(book: dict) -> Counter:
    """How many packages were graded as each term (its short name)."""
    return Counter((e.get("term") or "").split(" ")[0] for e in graded(book))


def missing_modules(book: dict) -> Counter:
    """module → how many students' code imports it where the grader's Python lacks it."""
    found: Counter = Counter()
    for e in graded(book):
        modules = {m.group("module") for p in e["parts"] if "missing-module" in (p.get("rules") or [])
                   for m in [_IMPORTS.search(p.get("cause") or "")] if m}
        found.update(visible(m) for m in modules)
    return found
