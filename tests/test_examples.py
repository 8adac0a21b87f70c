"""The example notebook runs top to bottom in a real Jupyter kernel, and every Python block
of the README runs as written: neither can show code that fails."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_the_quickstart_notebook_runs_and_its_numbers_hold(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    nb = nbformat.read(ROOT / "examples" / "quickstart.ipynb", as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = "\n".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "Warning" not in text, text  # e.g. tqdm's "IProgress not found" when ipywidgets is missing
    iris = float(re.search(r"Iris test accuracy: ([0-9.]+)", text).group(1))
    assert iris >= 0.90
    fashion = re.search(r"Fashion-MNIST test accuracy: ([0-9.]+)", text)
    assert fashion and float(fashion.group(1)) > 0.5
    assert re.search(r"ReLU\.backward +wrong .*ignores dY", text)  # the grader's cell
    shown = "\n".join(o.get("data", {}).get("text/html", "") for c in nb.cells if c.cell_type == "code"
                      for o in c.get("outputs", []))
    assert re.search(r"TanH\.backward</code></td><td>wrong</td>.*treats Z as if it were the output", shown)
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert len(images) >= 5  # curves, weights, and the run's three pictures
    backend = nb.cells[1].outputs[0]["data"]["text/plain"]
    assert "inline" in backend and nb.cells[-1].outputs[0]["data"]["text/plain"] == backend


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def test_every_python_block_of_the_readme_runs(tmp_path):
    blocks = python_blocks((ROOT / "README.md").read_text())
    assert blocks
    for i, block in enumerate(blocks):
        result = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True,
                                env={**os.environ, "MPLBACKEND": "Agg"}, timeout=600)
        assert result.returncode == 0, f"README block {i + 1} failed:\n{block}\n{result.stderr[-2000:]}"
