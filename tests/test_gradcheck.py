"""The gradient checker itself, and the `backproplab gradcheck` table."""

import numpy as np

from backproplab.cli import main
from backproplab.nn.gradcheck import TOLERANCE, check_gradients, gradient_check_table, relative_error


def test_a_right_gradient_passes_and_a_wrong_one_fails(rng):
    x = rng.standard_normal((3, 4))
    dLdf = rng.standard_normal((3, 4))
    fn = lambda v: v**3  # noqa: E731
    right = 3 * x**2 * dLdf
    assert check_gradients(fn, right, x, dLdf) < TOLERANCE
    assert check_gradients(fn, 1.01 * right, x, dLdf) > 1e-3  # a 1% slip is caught


def test_relative_error_of_zeros():
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error(np.zeros(3), np.array([0.0, 1.0, -1.0])) == 1.0


def test_table_covers_every_component_and_passes():
    rows = gradient_check_table(seed=3)
    components = {r.component.split("(")[0] for r in rows}
    assert {"Linear", "Sigmoid", "TanH", "ReLU", "Softmax", "CrossEntropy", "L2", "FullyConnected", "Elman",
            "Conv2D", "Pool2D", "Flatten", "BatchNorm", "BatchNorm1D", "Dropout"} <= components
    assert {("FullyConnected(relu)", "W"), ("FullyConnected(relu)", "b"), ("FullyConnected(relu)", "X"),
            ("L2(half)", "Y_hat"), ("L2(mean)", "Y_hat"), ("BatchNorm1D(train)", "gamma"),
            *((f"Elman({act}, 3 time steps)", wrt) for act in ("tanh", "relu") for wrt in ("X", "W", "U", "b"))} <= {
        (r.component, r.wrt) for r in rows}
    assert all(r.passed for r in rows), [r for r in rows if not r.passed]


def test_cli_prints_the_table_writes_its_run_folder_and_exits_0(capsys, tmp_path):
    assert main(["gradcheck", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "FullyConnected(relu)" in out and "PASS" in out and "FAIL" not in out
    assert "FullyConnected(relu)" in next(tmp_path.glob("gradcheck-s0-*/table.txt")).read_text()


def test_the_numpy_library_imports_with_numpy_alone():
    import subprocess
    import sys

    blocked = ["torch", "matplotlib", "tqdm", "markdown_it", "latex2mathml", "selenium"]
    code = ("import sys\n"
            f"for m in {blocked!r}: sys.modules[m] = None  # any import of these now fails\n"
            "import backproplab.nn.models, backproplab.nn.gradcheck, backproplab.nn.layers\n"
            "import backproplab.nn.optimizers, backproplab.nn.schedulers, backproplab.nn.weights\n"
            "from backproplab.nn.gradcheck import gradient_check_table\n"
            "assert all(r.passed for r in gradient_check_table())\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
