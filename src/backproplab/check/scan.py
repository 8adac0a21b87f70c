"""Reading the learner's source, never running it: which of its modules use a reference
implementation (an import of backproplab, PyTorch, …, written out or reached through
``importlib``, ``__import__`` or ``sys.modules`` with the name as text), and which of its
modules import which, so that a part is flagged when the module of its class, or any
module that one imports, uses one. The audit hook in the sandbox catches what is only
known when the code runs; this catches code the parts never reach."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from .harness import REFERENCE_LIBRARIES

PACKAGE = "neural_networks"


@dataclass
class Scan:
    uses: dict[str, list[str]] = field(default_factory=dict)  # module → "torch (line 3)", …
    imports: dict[str, set[str]] = field(default_factory=dict)  # module → the package's modules it imports

    def flagged(self, module: str) -> list[str]:
        """What ``module`` and the modules it imports (transitively) use of the reference libraries."""
        seen, todo, found = set(), [module], []
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            found += [f"{use} in {name}.py" for use in self.uses.get(name, [])]
            todo += sorted(self.imports.get(name, ()))
        return found


def scan_package(package_dir: Path) -> Scan:
    scan = Scan()
    for path in sorted(package_dir.glob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # the part that imports it says what is wrong
        module = path.stem
        scan.uses[module] = _reference_uses(tree)
        scan.imports[module] = _package_imports(tree)
    return scan


def _top(name: object) -> str:
    return name.split(".")[0] if isinstance(name, str) else ""


def _reference_uses(tree: ast.AST) -> list[str]:
    uses = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            on_modules = isinstance(func, ast.Attribute) and getattr(func.value, "attr", "") == "modules"
            if called in ("import_module", "__import__", "find_spec") or (called == "get" and on_modules):
                names = [node.args[0].value]
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            if isinstance(node.value, ast.Attribute) and node.value.attr == "modules":
                names = [node.slice.value]
        uses += [f"{_top(n)} (line {node.lineno})" for n in names if _top(n) in REFERENCE_LIBRARIES]
    return uses


def _package_imports(tree: ast.AST) -> set[str]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found |= {a.name for a in node.names}
            elif node.level == 0 and (node.module or "").startswith(PACKAGE + "."):
                found.add(node.module.split(".")[1])
            elif node.level == 0 and node.module == PACKAGE:
                found |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith(PACKAGE + ".")}
    return found
