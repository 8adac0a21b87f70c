"""The report's "Machine and software" section: the CPU, its instruction sets, the cores,
the operating system and the package versions every run recorded (a fact all runs share
is stated once; one that differs names its runs), then each run's device, the instruction
set and threads PyTorch used, its precision and when it started. Everything is read from
the runs' config.json; a run written before these were recorded shows "—"."""

from __future__ import annotations

from ..runs.environment import hardware_label
from ..runs.values import precision_words
from .collect import ReportRun
from .doc import Doc


def _dict(run: ReportRun, key: str) -> dict:
    value = run.config.get(key)
    return value if isinstance(value, dict) else {}


def _word(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none recorded"
    return "" if value is None else str(value)


def _numpy(run: ReportRun) -> str:
    m, v = _dict(run, "machine"), _dict(run, "versions")
    extra = "; ".join(x for x in (_word(m.get("numpy_blas")), "SIMD " + _word(m.get("numpy_simd"))
                                  if m.get("numpy_simd") else "") if x)
    return f"{_word(v.get('numpy'))} ({extra})" if extra and v.get("numpy") else _word(v.get("numpy"))


def shared_facts(run: ReportRun) -> dict[str, str]:
    """The facts every run of one machine shares, in the order the table shows them ("" where
    the run recorded none)."""
    m, v = _dict(run, "machine"), _dict(run, "versions")
    family = f"({_word(m['cpu_family_model'])})" if m.get("cpu_family_model") else ""
    return {"CPU": " ".join(x for x in (_word(m.get("cpu")), family) if x),
            "its instruction sets": _word(m["cpu_flags"]) if "cpu_flags" in m else "",
            "cores the run could use": _word(m.get("cores", v.get("cpu_count"))),
            "operating system": _word(v.get("platform")), "Python": _word(v.get("python")), "NumPy": _numpy(run),
            "PyTorch": _word(v.get("torch")), "matplotlib": _word(v.get("matplotlib")),
            "backproplab": _word(v.get("backproplab"))}


def _shared_rows(runs: list[ReportRun]) -> list[list[str]]:
    facts = [shared_facts(r) for r in runs]
    rows = []
    for what in facts[0] if facts else []:
        values: dict[str, list[str]] = {}
        for r, f in zip(runs, facts):
            values.setdefault(f[what] or "—", []).append(r.path.name)
        if list(values) == ["—"]:
            continue
        if len(values) == 1:
            rows.append([what, next(iter(values))])
        else:
            rows.append([what, "; ".join(f"{v} ({', '.join(names)})" for v, names in values.items())])
    return rows


def _threads(run: ReportRun) -> str:
    threads = run.config.get("threads")
    if isinstance(threads, int) and not isinstance(threads, bool):
        return str(threads)
    blas = _dict(run, "machine").get("blas_threads")
    return f"BLAS: {blas}" if str(run.config.get("device", "")).startswith("cpu (numpy") and blas else "—"


def _per_run_row(run: ReportRun) -> list[str]:
    started = run.config.get("started")
    return [run.path.name, _word(run.config.get("device") or run.summary.get("device")) or "—",
            _word(run.config.get("cpu_capability")) or "—", _threads(run),
            _word(precision_words(run.config.get("precision"))) or "—",
            started.replace("T", " ")[:16] if isinstance(started, str) else "—"]


def machine_section(doc: Doc, runs: list[ReportRun]) -> None:
    doc.heading(2, "Machine and software", "machine")
    machines = sorted({hardware_label(r.config) for r in runs})
    doc.para("The runs of this report were trained on ", "; ".join(machines) if len(machines) <= 3 else
             f"{len(machines)} machines", ". A timed number holds for its machine only: the summary names the "
             "machine beside each, and the tables below give what each run recorded in its config.json.")
    doc.table(["", "value"], _shared_rows(runs),
              caption="The machine and the software of the runs in this report (a value that differs between runs "
                      "names them).")
    doc.table(["run", "device", "PyTorch kernels", "threads", "precision", "started (UTC)"],
              [_per_run_row(r) for r in runs],
              caption="Each run: the device it trained on, the instruction set of PyTorch's CPU kernels, the threads, "
                      "the arithmetic precision, and when it started.")
