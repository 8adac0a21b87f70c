"""How long `backproplab check` takes on a whole homework package, and what it finds.

    python benchmarks/check_packages.py [FOLDER ...]

Always measured: the correct fixture package (tests/check_fixtures/correct) and a copy of
it whose Conv2D forward and backward are written as plain Python loops over every
output entry, the way many learners write them (the slowest honest implementation the
grader meets). Any FOLDER given (a learner's package: the folder holding
neural_networks/) is measured too. Prints one row per package: seconds for all 27 parts
(wall clock, 2 children at a time on this machine) and the count of each verdict.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from backproplab.check.grader import check_package  # noqa: E402

LOOP_CONV = '''
    def forward(self, X):
        if self.n_in is None:
            self._init_parameters(X.shape)
        W, b = self.parameters["W"], self.parameters["b"]
        kh, kw, C, F = W.shape
        ph, pw = self.pad
        s = self.stride
        Xp = np.pad(X, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
        rows, cols = (Xp.shape[1] - kh) // s + 1, (Xp.shape[2] - kw) // s + 1
        Z = np.zeros((X.shape[0], rows, cols, F))
        for n in range(X.shape[0]):
            for y in range(rows):
                for x in range(cols):
                    for f in range(F):
                        Z[n, y, x, f] = np.sum(Xp[n, y * s:y * s + kh, x * s:x * s + kw, :] * W[:, :, :, f]) + b[0, f]
        self.cache["X"], self.cache["Z"] = X, Z
        return self.activation(Z)

    def backward(self, dLdY):
        X, Z = self.cache["X"], self.cache["Z"]
        W = self.parameters["W"]
        kh, kw, C, F = W.shape
        ph, pw = self.pad
        s = self.stride
        dZ = self.activation.backward(Z, dLdY)
        Xp = np.pad(X, ((0, 0), (ph, ph), (pw, pw), (0, 0)))
        dXp, dW = np.zeros_like(Xp), np.zeros_like(W)
        for n in range(X.shape[0]):
            for y in range(dZ.shape[1]):
                for x in range(dZ.shape[2]):
                    for f in range(F):
                        window = Xp[n, y * s:y * s + kh, x * s:x * s + kw, :]
                        dW[:, :, :, f] += window * dZ[n, y, x, f]
                        dXp[n, y * s:y * s + kh, x * s:x * s + kw, :] += W[:, :, :, f] * dZ[n, y, x, f]
        self.gradients["W"] = dW
        self.gradients["b"] = dZ.sum(axis=(0, 1, 2)).reshape(1, -1)
        return dXp[:, ph:ph + X.shape[1], pw:pw + X.shape[2], :]
'''


def loop_conv_package(scratch: Path) -> Path:
    root = scratch / "loops"
    shutil.copytree(ROOT / "tests" / "check_fixtures" / "correct", root)
    layers = root / "neural_networks" / "layers.py"
    text = layers.read_text()
    start = text.index("    def forward(self, X):", text.index("class Conv2D"))
    end = text.index("class Pool2D")
    layers.write_text(text[:start] + LOOP_CONV.lstrip("\n") + "\n\n" + text[end:])
    return root


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        packages = [("correct fixture", ROOT / "tests" / "check_fixtures" / "correct"),
                    ("fixture, loop-based Conv2D", loop_conv_package(Path(scratch)))]
        packages += [(Path(p).name, Path(p)) for p in sys.argv[1:]]
        print(f"{'package':<40} {'seconds':>8}  pass wrong n/i error timeout (absent)")
        for name, path in packages:
            start = time.perf_counter()
            report = check_package(path)
            seconds = time.perf_counter() - start
            s = report.summary()
            print(f"{name:<40} {seconds:8.1f}  {s['pass']:4} {s['wrong']:5} {s['not implemented']:3} {s['error']:5} "
                  f"{s['timeout']:7} ({s['absent']})")


if __name__ == "__main__":
    main()
