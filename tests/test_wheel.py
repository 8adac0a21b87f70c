"""An installed wheel (not the source checkout) carries what it needs: the derivations and
the report's style ship inside the package, so a report written from a wheel has them."""

import subprocess
import sysconfig
from pathlib import Path

from fixtures import wheel_in_fresh_venv

ROOT = Path(__file__).resolve().parents[1]


def test_a_wheel_installed_in_a_fresh_environment_writes_the_derivations(tmp_path):
    python = wheel_in_fresh_venv(tmp_path)
    # the dependencies (numpy, matplotlib, ...) come from this environment's site-packages; backproplab
    # itself only from the wheel: an editable install is reached through a .pth file, which PYTHONPATH skips
    deps = sysconfig.get_paths()["purelib"]
    code = ("import backproplab, sys; from backproplab.pipelines.gradcheck import GradcheckConfig, run; "
            "from backproplab.runs.options import RunOptions; from backproplab.report import build_report; "
            "from backproplab.pipelines import PIPELINES; "
            f"run(GradcheckConfig(), RunOptions(out={str(tmp_path / 'out')!r}, name='gradcheck')); "
            f"print(backproplab.__file__); print(build_report([{str(tmp_path / 'out')!r}], PIPELINES))")
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": deps, "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"})
    assert out.returncode == 0, out.stderr
    assert f"{tmp_path / 'fresh'}/lib/" in out.stdout  # the wheel's copy, not the checkout
    assert str(ROOT / "src") not in out.stdout
    page = (tmp_path / "out" / "report.html").read_text()
    assert 'id="derivations"' in page and "Batch normalisation" in page and "<math" in page
    # the grader runs its children from the installed package too
    checked = subprocess.run([python, "-m", "backproplab", "check", str(ROOT / "tests" / "check_fixtures" / "correct"),
                              "--parts", "ReLU.*,Conv2D.forward", "--json"], capture_output=True, text=True,
                             cwd=tmp_path, env={"PYTHONPATH": deps, "PATH": "/usr/bin:/bin"})
    assert checked.returncode == 0, checked.stderr
    assert [p["verdict"] for p in __import__("json").loads(checked.stdout)["parts"]] == ["pass"] * 3
