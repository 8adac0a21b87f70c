"""What runs beside the learner's code in a part's process: it finds the learner's classes,
calls them, and records what each call returned or raised. It judges nothing.

Every call into the learner's code goes through ``Calls.run``: a return value is recorded
(an array, ``...``, None, or another type), an exception is recorded with the learner's
file and line, and the part goes on where it can. At the end ``Calls.send`` puts the
records and arrays on the results pipe (``protocol``) — the learner's claims, which the
grader checks and judges against what it computes itself.

``guard`` is installed before the learner's package loads: an audit hook (which no code
can remove) that refuses, and reports on the results pipe at once, an import of a
reference implementation (backproplab, PyTorch, …), a read of their files, and ctypes;
and a finder first on ``sys.meta_path`` that does the same for ``importlib.import_module``,
which raises no audit event.

This module is shipped into the sandbox: numpy and the standard library only. In a
notebook (``check_part``) the same functions run in the learner's own kernel.
"""

from __future__ import annotations

import ast
import importlib
import importlib.machinery
import importlib.util
import inspect
import os
import sys
import textwrap
import traceback

import numpy as np

from . import protocol

#: the step of the central finite differences (the inputs are of order 1)
FD_STEP = 1e-6
#: libraries that compute the homework's answers: graded code may not use them
REFERENCE_LIBRARIES = frozenset({
    "backproplab", "torch", "torchvision", "torchaudio", "functorch", "torchgen", "tensorflow", "keras", "jax",
    "jaxlib", "flax", "autograd", "tinygrad", "mxnet", "paddle", "chainer", "theano"})
FAILED = object()


# -- recording what the learner's code returned or raised ---------------------------------------


class Calls:
    """The record of one part: ``meta[label]`` describes a call's value (or exception),
    ``arrays[label]`` holds it when it is an array of numbers."""

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
        self.arrays.pop(label, None)
        if self.meta[label]["kind"] == "array":  # a copy: the learner's code may change its array later
            array = np.array(value)
            self.arrays[label] = array.astype(np.float64) if array.dtype.kind == "f" and array.itemsize > 8 else array

    def note(self, label: str, **info) -> None:
        self.meta.setdefault(label, {}).update(info)

    def message(self) -> bytes:
        return protocol.encode(protocol.RESULT, {"records": self.meta}, self.arrays)


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
        if array.dtype.kind not in "iuf" or array.itemsize > 16:
            return {"kind": "other", "type": f"{type(value).__name__} of {array.dtype}"}
        if array.size > protocol.MAX_ELEMENTS or array.ndim > protocol.MAX_DIMS:
            return {"kind": "too large", "shape": list(array.shape)}
        return {"kind": "array", "shape": list(array.shape), "dtype": str(array.dtype),
                "type": type(value).__name__}
    return {"kind": "other", "type": type(value).__name__[:100]}


def describe_exception(err: BaseException, package_dir: str) -> dict:
    """The exception, and where in the learner's files it was raised (innermost frame there)."""
    info = {"kind": "error", "type": type(err).__name__[:100], "message": _text(err)[:2000]}
    if isinstance(err, SystemExit):
        info["exit_code"] = str(err.code)[:100]
    if isinstance(err, ModuleNotFoundError):
        info["module"] = str(err.name)[:200]
    if isinstance(err, MemoryError):
        info["memory"] = True
    if isinstance(err, SyntaxError):
        info["file"] = os.path.realpath(err.filename) if err.filename else None
        info.update(line=err.lineno, text=(err.text or "").rstrip("\n")[:300], message=str(err.msg)[:2000])
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


def _text(err: BaseException) -> str:
    try:
        return str(err)
    except BaseException:  # an exception whose __str__ raises
        return f"<{type(err).__name__} that cannot be shown>"


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


def find_class(module, names, factory: str | None = None, build: str | None = None):
    """The first of ``names`` that the learner's module defines as a class, else the class of
    what its factory builds (e.g. ``initialize_activation("tanh")``); None if neither."""
    for candidate in names:
        cls = getattr(module, candidate, None)
        if isinstance(cls, type):
            return cls
    make = getattr(module, factory, None) if factory else None
    if callable(make):
        try:
            obj = make(build)
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
    for n, i in enumerate(indices.astype(np.int64)):
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
        calls.record(label, finite_differences(f, A, indices))
    except BaseException as err:
        calls.meta[label] = describe_exception(err, calls.package_dir)


def changed(before: np.ndarray, after) -> bool:
    return not (isinstance(after, np.ndarray) and after.shape == before.shape and np.array_equal(before, after))


def modified(pairs) -> list[str]:
    """The names of the (name, original, the copy the learner's code received) inputs it changed."""
    return [name for name, before, after in pairs if changed(before, after)]


# -- the guard: no reference implementation, no ctypes -------------------------------------------------


def guard(results_fd: int, denied_dirs: list[str]) -> None:
    """Install the audit hook (for the rest of this process's life). A flagged event is sent
    on the results pipe before it is refused, so that hiding the refusal changes nothing."""
    denied_dirs = tuple(os.path.realpath(d) + os.sep for d in denied_dirs) + tuple(d + os.sep for d in denied_dirs)

    def flag(reason: str, what: str, error: type[BaseException]):
        protocol.send(results_fd, protocol.encode(protocol.FLAG, {"flag": reason, "what": what[:300]}))
        raise error(f"the grader does not let graded code use {what} ({reason})")

    def hook(event: str, args: tuple) -> None:
        if event == "import":
            top = str(args[0]).split(".")[0]
            if top in REFERENCE_LIBRARIES:
                flag("reference-implementation", f"the module {top}", ImportError)
        elif event in ("open", "exec", "compile") and args:
            path = args[0]
            if event == "exec":
                path = getattr(path, "co_filename", None)
            if isinstance(path, bytes):
                path = os.fsdecode(path)
            if isinstance(path, str) and path and not path.startswith("<"):
                path = os.path.abspath(path)
                real = os.path.realpath(path) if event == "open" else path
                if any((p + os.sep).startswith(denied_dirs) for p in (path, real)):  # the folder itself too
                    flag("reference-implementation", f"the file {path}", PermissionError)
                if event == "open" and real.startswith("/proc/") and real.endswith(("/mem", "/environ")):
                    flag("tampering", f"the file {path}", PermissionError)
        elif event.startswith("ctypes."):
            flag("tampering", "ctypes", PermissionError)

    sys.addaudithook(hook)

    class Refuse:
        """First on sys.meta_path: importlib.import_module raises no "import" audit event, but every
        import not done yet asks the finders (one removed from the path leaves the library hidden,
        or its files refused by the hook)."""

        @staticmethod
        def find_spec(name, path=None, target=None):
            if name.split(".")[0] in REFERENCE_LIBRARIES:
                flag("reference-implementation", f"the module {name.split('.')[0]}", ImportError)
            return None

    sys.meta_path.insert(0, Refuse)
