"""The architecture holds: who may import whom, no import changes global state, every
function fits on a screen, and nothing hard-codes a run in the report."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "backproplab"
#: the modules that may import torch at their top; every other module imports no torch
TORCH_MODULES = {"engines/torch_engine.py", "engines/torch_setup.py", "engines/distributed.py", "engines/precision.py",
                 "pipelines/cifar_training.py", "pipelines/cifar_net.py", "pipelines/fashion_torch.py",
}


def imports(path: Path) -> set[str]:
    """The backproplab modules a file imports (relative imports resolved), at any depth."""
    package = path.relative_to(SRC.parent).with_suffix("").parts[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out |= {name} | {f"{name}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
    return {n for n in out if n.startswith("backproplab")}


def files(part: str):
    return sorted((SRC / part).rglob("*.py")) if (SRC / part).is_dir() else [SRC / f"{part}.py"]


def top(name: str) -> str:
    return name.split(".")[1] if name.count(".") else name


@pytest.mark.parametrize("part, forbidden", [
    ("nn", {"data", "runs", "report", "cli", "engines", "pipelines", "check"}),
    ("data", {"nn", "runs", "report", "cli", "engines", "pipelines", "check"}),
    ("runs", {"nn", "report", "cli", "engines", "pipelines", "check"}),
    ("report", {"nn", "data", "cli", "engines", "pipelines", "check"}),  # the caller hands it the declarations
    ("engines", {"report", "cli", "pipelines", "check"}),
    ("pipelines", {"cli", "check"}),
    ("check", {"cli", "pipelines", "engines", "report"}),
    ("check/grade", {"cli", "pipelines", "engines"}),  # the class grader writes its report with report's Doc
])
def test_who_may_import_whom(part, forbidden):
    for path in files(part):
        if part == "check" and (SRC / "check" / "grade") in path.parents:
            continue  # its own row
        bad = {n for n in imports(path) if top(n) in forbidden}
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def test_the_grader_never_imports_the_class_grader():
    """``check grade`` is built on ``check``; nothing in ``check`` depends on it."""
    for path in files("check"):
        if (SRC / "check" / "grade") not in path.parents:
            bad = {n for n in imports(path) if n.split(".")[:3] == ["backproplab", "check", "grade"]}
            assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"


def test_torch_is_imported_only_by_the_pytorch_modules():
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text())
        at_top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        names = {a.name for n in at_top if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module for n in at_top if isinstance(n, ast.ImportFrom) and n.module}
        if any(n == "torch" or n.startswith("torch.") for n in names):
            assert str(path.relative_to(SRC)) in TORCH_MODULES, path


def test_what_the_sandbox_runs_imports_numpy_and_the_standard_library_only(tmp_path):
    """The grader's modules shipped into the sandbox import no other backproplab module (at
    any depth), and a copy of them starts the zygote in a Python that sees numpy alone."""
    from backproplab.check.sandbox import SHIPPED

    shipped = [p for name in SHIPPED for p in (sorted((SRC / "check" / name).glob("*.py"))
                                              if (SRC / "check" / name).is_dir() else [SRC / "check" / name])]
    names = {".".join(p.relative_to(SRC.parent).with_suffix("").parts).removesuffix(".__init__") for p in shipped}
    names.add("backproplab.check")  # "from . import protocol"
    for path in shipped:
        bad = {n for n in imports(path) if n not in names and n.rsplit(".", 1)[0] not in names}
        assert not bad, f"{path.relative_to(SRC)} imports {sorted(bad)}"
    copy = tmp_path / "backproplab_check"
    copy.mkdir()
    (copy / "__init__.py").write_text("")
    for path in shipped:
        (copy / path.relative_to(SRC / "check")).parent.mkdir(parents=True, exist_ok=True)
        (copy / path.relative_to(SRC / "check")).write_text(path.read_text())
    import numpy

    code = ("import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import backproplab_check.zygote; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'backproplab', 'torch', 'matplotlib'}))")
    site = str(Path(numpy.__file__).parents[1])
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code, str(tmp_path), site], capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_library_imports_numpy_and_nothing_else():
    blocked = ["torch", "matplotlib", "tqdm", "platformdirs", "markdown_it", "latex2mathml"]
    code = (f"import sys\nfor m in {blocked!r}: sys.modules[m] = None\n"
            "import backproplab.nn as nn, numpy as np\n"
            "m = nn.NeuralNetwork([{'name': 'fully_connected', 'activation': 'softmax'}], n_classes=2)\n"
            "m.fit(np.zeros((4, 3), np.float32), np.array([0, 1, 0, 1]), epochs=1, batch_size=2)\n"
            "print(sorted(k.split('.')[0] for k in sys.modules if k.split('.')[0] in ('backproplab',) "
            "or k.split('.')[0] in " f"{blocked!r}" " and sys.modules[k] is not None))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "torch" not in out.stdout and "matplotlib" not in out.stdout


def test_the_command_line_loads_no_plotting_library_until_it_draws():
    """``backproplab --help`` (and any command before its first figure) pays for neither
    matplotlib nor torch: both are imported where they are first used."""
    code = ("import sys\nfrom backproplab import cli\nparser = cli.build_parser()\n"
            "print(sorted({k.split('.')[0] for k in sys.modules} & {'matplotlib', 'torch', 'tqdm'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_importing_any_module_leaves_the_matplotlib_backend_alone():
    modules = sorted(".".join(p.relative_to(SRC.parent).with_suffix("").parts) for p in SRC.rglob("*.py")
                     if p.name != "__main__.py")
    code = ("import matplotlib\nmatplotlib.use('svg')\nimport importlib, torch\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            "print(matplotlib.get_backend(), torch.get_num_threads())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    backend, threads = out.stdout.split()
    assert backend == "svg"
    before = subprocess.run([sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
                            capture_output=True, text=True).stdout.strip()
    assert threads == before  # no import sets the thread count either


def test_no_function_is_longer_than_a_screen():
    long = []
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.end_lineno - node.lineno + 1 >= 60:
                long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name}")
    assert not long, long


def test_every_module_can_be_read_in_one_sitting():
    sizes = {str(p.relative_to(SRC)): len(p.read_text().splitlines()) for p in SRC.rglob("*.py")}
    assert max(sizes.values()) <= 400, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]


def test_the_report_hard_codes_no_architecture():
    text = "\n".join(p.read_text() for p in files("report"))
    for fixed in ("512 → 512", "784 → 512", "16, 32, 64, 128", "Conv 3×3 (16)"):
        assert fixed not in text
