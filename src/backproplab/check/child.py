"""The child process of ``backproplab check``: it imports a learner's ``neural_networks``
package, calls one part of it on the inputs the grader prepared, and writes what came
back. It judges nothing; the grader's process compares.

Run by ``sandbox.run_child`` (``python -c BOOT SOURCE_ROOT TASK_DIR``). TASK_DIR holds ``task.json`` (what to call) and
``inputs.npz`` (the arrays); the child writes ``result.json`` (what each call returned or
raised) and ``outputs.npz`` (the arrays it returned, float64). It imports numpy and the
standard library only, so that nothing of the grader is loaded beside the learner's code
(the model parts load ``backproplab.nn`` when the learner's layers cannot be used).

Every call into the learner's code goes through ``Calls.run``: a return value is recorded
(an array, ``...``, None, or another type), an exception is recorded with the learner's
file and line, and the procedure goes on where it can.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import json
import os
import sys
import textwrap
import traceback
from pathlib import Path

import numpy as np

#: a returned array larger than this is described, not kept (our inputs are tiny)
MAX_ELEMENTS = 100_000
#: the step of the central finite differences (the inputs are of order 1)
FD_STEP = 1e-6
FAILED = object()


# -- recording what the learner's code returned or raised ---------------------------------------


class Calls:
    def __init__(self, package_dir: str) -> None:
        self.package_dir = os.path.realpath(package_dir)
        self.meta: dict[str, dict] = {}
        self.arrays: dict[str, np.ndarray] = {}

    def run(self, label: str, fn, *args, **kwargs):
        """fn(*args, **kwargs), its value recorded under ``label``; FAILED if it raised."""
        try:
            value = fn(*args, **kwargs)
        except BaseException as err:  # SystemExit and KeyboardInterrupt from the learner's code too
            self.meta[label] = describe_exception(err, self.package_dir)
            return FAILED
        self.record(label, value)
        return value

    def record(self, label: str, value) -> None:
        self.meta[label] = describe_value(value)
        if self.meta[label]["kind"] == "array":
            self.arrays[label] = np.asarray(value, dtype=np.float64)

    def note(self, label: str, **info) -> None:
        self.meta.setdefault(label, {}).update(info)


def describe_value(value) -> dict:
    if value is Ellipsis:
        return {"kind": "ellipsis"}
    if value is None:
        return {"kind": "none"}
    if isinstance(value, (bool, np.bool_)):
        return {"kind": "other", "type": type(value).__name__}
    if isinstance(value, (int, float, np.number, np.ndarray, list, tuple)):
        try:
            array = np.asarray(value)
        except Exception:  # a ragged list
            return {"kind": "other", "type": type(value).__name__}
        if array.dtype.kind not in "biuf":
            return {"kind": "other", "type": f"{type(value).__name__} of {array.dtype}"}
        if array.size > MAX_ELEMENTS:
            return {"kind": "too large", "shape": list(array.shape)}
        return {"kind": "array", "shape": list(array.shape), "dtype": str(array.dtype),
                "type": type(value).__name__}
    return {"kind": "other", "type": type(value).__name__}


def describe_exception(err: BaseException, package_dir: str) -> dict:
    """The exception, and where in the learner's files it was raised (innermost frame there)."""
    info = {"kind": "error", "type": type(err).__name__, "message": str(err)[:2000]}
    if isinstance(err, SystemExit):
        info["exit_code"] = str(err.code)
    if isinstance(err, ModuleNotFoundError):
        info["module"] = err.name
    if isinstance(err, MemoryError):
        info["memory"] = True
    if isinstance(err, SyntaxError):
        info["file"] = os.path.realpath(err.filename) if err.filename else None
        info.update(line=err.lineno, text=(err.text or "").rstrip("\n")[:300], message=str(err.msg))
    frames = [(f, n) for f, n in traceback.walk_tb(err.__traceback__)
              if os.path.realpath(f.f_code.co_filename).startswith(package_dir + os.sep)]
    if frames:
        frame, line = frames[-1]
        info.setdefault("file", os.path.realpath(frame.f_code.co_filename))
        if not isinstance(err, SyntaxError):
            info["line"], info["function"] = line, frame.f_code.co_name
            info["text"] = _source_line(frame.f_code.co_filename, line)
            if isinstance(err, NameError) and _unfilled_blank(frame.f_code, line, getattr(err, "name", None)):
                info["blank"] = True
        info["outer"] = [{"file": os.path.realpath(f.f_code.co_filename), "line": n, "function": f.f_code.co_name}
                         for f, n in frames[:-1]][-3:]
    return info


def _source_line(filename: str, line: int) -> str:
    try:
        with open(filename, encoding="utf-8", errors="replace") as f:
            for number, text in enumerate(f, start=1):
                if number == line:
                    return text.strip()[:300]
    except OSError:
        pass
    return ""


def _unfilled_blank(code, line: int, name: str | None) -> bool:
    """A NameError at ``return name`` where the function never assigns ``name``: the
    starter's blank (``### YOUR CODE HERE ###`` … ``return out``) left empty."""
    if not name:
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(code)))
    except (OSError, TypeError, SyntaxError):
        return False
    function = tree.body[0] if tree.body else None
    if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return False
    stored = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
    returns = [n for n in ast.walk(function) if isinstance(n, ast.Return) and isinstance(n.value, ast.Name)
               and n.value.id == name and n.lineno + code.co_firstlineno - 1 == line]
    return bool(returns) and name not in stored


# -- the learner's package ------------------------------------------------------------------------


def import_package(package_dir: str):
    """Make the learner's folder importable as ``neural_networks`` (whatever it is called)."""
    package_dir = os.path.realpath(package_dir)
    parent, name = os.path.split(package_dir)
    if name == "neural_networks":
        sys.path.insert(0, parent)
        return importlib.import_module("neural_networks")
    init = os.path.join(package_dir, "__init__.py")
    spec = importlib.util.spec_from_file_location("neural_networks", init if os.path.isfile(init) else None,
                                                  submodule_search_locations=[package_dir])
    if spec is None or spec.loader is None:  # no __init__.py: a namespace package
        spec = importlib.machinery.ModuleSpec("neural_networks", None, is_package=True)
        spec.submodule_search_locations = [package_dir]
    module = importlib.util.module_from_spec(spec)
    sys.modules["neural_networks"] = module
    if spec.loader is not None:
        spec.loader.exec_module(module)
    return module


def find_class(module, name: str, aliases: list[str], factory: str | None, factory_name: str | None):
    """The class ``name`` of the learner's module, else one of its aliases, else what the
    module's factory (e.g. ``initialize_activation("tanh")``) builds; None if absent."""
    for candidate in [name, *aliases]:
        cls = getattr(module, candidate, None)
        if isinstance(cls, type):
            return cls
    build = getattr(module, factory, None) if factory else None
    if callable(build):
        try:
            obj = build(factory_name)
        except BaseException:
            return None
        if obj is not None and obj is not Ellipsis:
            return type(obj)
    return None


def construct(cls, **kwargs):
    """cls(**kwargs), leaving out the keywords its signature does not take (the homework's
    constructors differ a little between terms: ``pad``, ``weight_init``, a loss's ``name``)."""
    try:
        parameters = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return cls(**kwargs)
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return cls(**kwargs)
    accepted = {p.name for p in parameters}
    return cls(**{k: v for k, v in kwargs.items() if k in accepted})


# -- finite differences of the learner's own forward ------------------------------------------------


def finite_differences(f, A: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """∂f/∂A at the flat ``indices`` by central differences; f returns a number."""
    out = np.empty(len(indices))
    for n, i in enumerate(indices):
        plus, minus = A.copy(), A.copy()
        plus.flat[i] += FD_STEP
        minus.flat[i] -= FD_STEP
        out[n] = (f(plus) - f(minus)) / (2 * FD_STEP)
    return out


def weighted_sum(value, weights: np.ndarray) -> float:
    value = np.asarray(value, dtype=np.float64)
    if value.shape != weights.shape:
        raise ValueError(f"forward returned shape {value.shape}, not {weights.shape}")
    return float(np.sum(value * weights))


def record_fd(calls: Calls, label: str, f, A: np.ndarray, indices: np.ndarray) -> None:
    try:
        calls.arrays[label] = finite_differences(f, A, indices)
        calls.meta[label] = {"kind": "array", "shape": [len(indices)]}
    except BaseException as err:
        calls.meta[label] = describe_exception(err, calls.package_dir)


def changed(before: np.ndarray, after) -> bool:
    return not (isinstance(after, np.ndarray) and after.shape == before.shape and np.array_equal(before, after))


def set_limits(memory_bytes: int, cpu_seconds: int) -> None:
    """Limit this process before the learner's package loads (POSIX; elsewhere none)."""
    if os.name != "posix":
        return
    import resource

    for limit, value in ((resource.RLIMIT_AS, memory_bytes), (resource.RLIMIT_CPU, cpu_seconds),
                         (resource.RLIMIT_FSIZE, 256 * 2**20), (resource.RLIMIT_CORE, 0)):
        try:
            soft, hard = resource.getrlimit(limit)
            value = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(limit, (value, hard))
        except (ValueError, OSError):  # a limit this system does not allow lowering: go on without it
            pass


def main() -> None:
    """Run the task in TASK_DIR (sys.argv[1]); write result.json and outputs.npz."""
    from .procedures import procedures

    task_dir = Path(sys.argv[1])
    task = json.loads((task_dir / "task.json").read_text())
    set_limits(task["memory_bytes"], task["cpu_seconds"])
    with np.load(task_dir / "inputs.npz", allow_pickle=False) as archive:
        inputs = {k: archive[k] for k in archive.files}
    calls = Calls(task["package_dir"])
    np.random.seed(task["seed"])  # the homework's code draws from numpy's global generator
    result = {"setup": "ok"}
    try:
        import_package(task["package_dir"])
    except BaseException as err:
        result["setup"] = "import"
        calls.meta["import"] = describe_exception(err, calls.package_dir)
    if result["setup"] == "ok":
        procedures()[task["procedure"]](task, inputs, calls)
    result["calls"] = calls.meta
    np.savez(task_dir / "outputs.npz", **calls.arrays)
    (task_dir / "result.json").write_text(json.dumps(result, default=str))
    sys.stdout.flush()
    os._exit(0)  # skip the learner's atexit handlers and lingering threads
