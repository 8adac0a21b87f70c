"""A re-grade that explains itself: the students whose score changed since an earlier
gradebook, by how much, and each part that moved with why.

A part's points move for one of four reasons, told apart by what the two gradebooks record:
the **rubric** (the part is worth something else, its verdict the same); the **submission**
(its fingerprint changed: new code was handed in); the **grader** (its version or the digest
of its code changed, or a setting that decides verdicts: the seed, the parts, the limits,
the term); or, with all of those equal, none the records can name (a part that ran close
to its time limit, or code whose result depends on more than its inputs). A student whose
verdicts changed but not their score is listed apart; everyone else is left out.
"""

from __future__ import annotations

from ..text import visible

#: the grader's settings that can change a verdict, besides its code
SETTINGS = ("seed", "parts", "timeout", "memory_mb", "term")


def grader_changes(old: dict, new: dict) -> list[str]:
    """What differs between two gradebooks' graders, one phrase each."""
    changes = []
    if old.get("version") != new.get("version"):
        changes.append(f"backproplab {old.get('version')} → {new.get('version')}")
    elif old.get("digest") != new.get("digest"):
        changes.append("the grading code changed (same version, another digest)")
    for key in SETTINGS:
        if old.get(key) != new.get(key):
            changes.append(f"{key} {_short(old.get(key))} → {_short(new.get(key))}")
    if old.get("rubric") != new.get("rubric"):
        changes.append("the rubric")
    return changes


def _short(value) -> str:
    text = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return visible(text, 60)


def compare(old: dict, new: dict) -> dict:
    """{"grader": [changes], "changed": [students whose score moved], "verdicts": [students
    whose verdicts moved but not their score], "added": [...], "removed": [...]}."""
    verdict_reason = _verdict_reason(old["grader"], new["grader"])
    before = {e["submission"]: e for e in old["submissions"]}
    after = {e["submission"]: e for e in new["submissions"]}
    changed, verdicts = [], []
    for name in sorted(set(before) & set(after)):
        a, b = before[name], after[name]
        parts = _part_changes(a, b, verdict_reason)
        moved = a.get("total") != b.get("total") or a.get("status") != b.get("status")
        if moved or parts:
            item = {"submission": name, "name": b.get("name"), "old_total": a.get("total"),
                    "new_total": b.get("total"), "delta": _delta(a.get("total"), b.get("total")),
                    "old_status": a.get("status"), "new_status": b.get("status"), "parts": parts}
            (changed if moved else verdicts).append(item)
    return {"grader": grader_changes(old["grader"], new["grader"]), "changed": changed, "verdicts": verdicts,
            "added": sorted(set(after) - set(before)), "removed": sorted(set(before) - set(after))}


def _delta(old, new) -> float | None:
    if isinstance(old, (int, float)) and isinstance(new, (int, float)):
        return round(new - old, 6)
    return None


def _verdict_reason(old: dict, new: dict) -> str:
    """Why a verdict of the same submission changed, as far as the gradebooks can tell."""
    changes = [c for c in grader_changes(old, new) if c != "the rubric"]
    if changes:
        return "the grader changed: " + "; ".join(changes)
    return ("nothing the gradebooks record changed (a part near its time limit, or code whose result depends on "
            "more than its inputs?)")


def _part_changes(a: dict, b: dict, verdict_reason: str) -> list[dict]:
    olds = {p["part"]: p for p in a.get("parts", [])}
    news = {p["part"]: p for p in b.get("parts", [])}
    new_code = a.get("fingerprint") != b.get("fingerprint")
    out = []
    for part in list(dict.fromkeys([*olds, *news])):
        p, q = olds.get(part, {}), news.get(part, {})
        if p.get("verdict") == q.get("verdict") and p.get("points") == q.get("points"):
            continue
        if p.get("verdict") != q.get("verdict"):
            why = "the submission changed" if new_code else verdict_reason
        else:
            why = f"the rubric: worth {p.get('worth')} → {q.get('worth')}"
        out.append({"part": part, "old_verdict": p.get("verdict"), "new_verdict": q.get("verdict"),
                    "old_points": p.get("points"), "new_points": q.get("points"), "why": why,
                    "cause": q.get("cause")})
    return out


def _num(x) -> str:
    return "—" if x is None else f"{x:g}"


def changes_text(result: dict, old_path: str) -> str:
    """The comparison as plain text (stdout, and changes.md beside the gradebook)."""
    lines = [f"Compared with {visible(old_path)}:"]
    if result["grader"]:
        lines.append("  the grader: " + "; ".join(result["grader"]))
    moved = result["changed"]
    lines.append(f"  {len(moved)} submission{'s' if len(moved) != 1 else ''} changed score"
                 + (":" if moved else "."))
    for item in moved:
        lines += _item_lines(item)
    if result["verdicts"]:
        lines.append(f"  {len(result['verdicts'])} changed verdicts but not score:")
        for item in result["verdicts"]:
            lines += _item_lines(item)
    for key, what in (("added", "new since then"), ("removed", "gone since then")):
        if result[key]:
            lines.append(f"  {what}: {', '.join(visible(n, 80) for n in result[key])}")
    return "\n".join(lines) + "\n"


def _item_lines(item: dict) -> list[str]:
    who = visible(item["submission"], 80) + (f" ({visible(item['name'], 80)})" if item.get("name") else "")
    delta = item["delta"]
    change = f"{_num(item['old_total'])} → {_num(item['new_total'])}"
    change += f" ({delta:+g})" if delta is not None else ""
    if item["old_status"] != item["new_status"]:
        change += f"; {item['old_status']} → {item['new_status']}"
    lines = [f"    {who}: {change}"]
    for p in item["parts"]:
        verdicts = (f"{p['old_verdict'] or 'absent'} → {p['new_verdict'] or 'absent'}"
                    if p["old_verdict"] != p["new_verdict"] else p["new_verdict"])
        points = f"{_num(p['old_points'])} → {_num(p['new_points'])} points"
        lines.append(f"      {p['part']}: {verdicts}, {points}: {visible(p['why'], 300)}")
    return lines
