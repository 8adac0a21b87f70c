"""The catalogue of likely causes: for each mistake a named rule and the sentence that
tells a learner what went wrong and how to fix it.

Two kinds. A *result* rule is recognised by comparing the learner's result with a
transformation of the right one (``judge`` builds the transformations: ×m, transposed,
the kernel flipped, the stride ignored, …). An *environment* rule is recognised from an
exception the learner's code raised (a module that is not installed, a name NumPy 2
removed, Python 2 syntax, the starter's blanks).
"""

from __future__ import annotations

import os
import re
import sys

#: rule id → the sentence; ``{…}`` fields are filled in by the judge
RESULT_RULES = {
    "times-m": "{what} is m = {m} times too large: it sums over the batch where the loss takes the mean; "
               "divide by the batch size m",
    "over-m": "{what} is m = {m} times too small: it divides by the batch size m once too often (the mean's 1/m "
              "is taken once, in the loss); remove the extra division",
    "sign": "{what} has the wrong sign (it is −1 × the right value)",
    "transposed": "{what} is transposed: shape {shape} where {expected_shape} is expected",
    "bias-not-summed": "the bias gradient {what} keeps one row per example (shape {shape}): a parameter shared "
                       "by every example gets the sum of their gradients over the batch (for a dense layer "
                       "db = dZ.sum(axis=0, keepdims=True)), shape {expected_shape}",
    "activation-skipped": "the activation's derivative is left out of {what}: first dZ = σ'(Z) ⊙ dY "
                          "(self.activation.backward(Z, dLdY)), then dW, db and dX from dZ",
    "activation-not-applied": "the activation is not applied: the layer returns its pre-activation Z, not σ(Z) "
                              "(self.activation(Z))",
    "cached-output": "{what} is computed from the activation's output: the layer keeps σ(Z) in its cache where "
                     "backward needs Z (self.activation.backward takes Z, the activation's input)",
    "activation-twice": "the activation's derivative is applied twice in {what}: "
                        "self.activation.backward(Z, dY) already multiplies by σ'(Z)",
    "dY-ignored": "{what} ignores dY: it returns σ'(Z) alone; the backward must return dY ⊙ σ'(Z)",
    "z-as-output": "{what} treats Z as if it were the output σ(Z): compute the activation first "
                   "(e.g. s = self.forward(Z)) and take the derivative from it",
    "softmax-elementwise": "{what} applies the softmax Jacobian element by element (dY ⊙ s(1 − s)); every output "
                           "of a row depends on every input of the row: dZ = s ⊙ (dY − Σⱼ dYⱼ sⱼ), row by row",
    "softmax-overflow": "softmax overflows on logits of order 1000 (e^1000 is inf, inf/inf is NaN): subtract "
                        "each row's maximum before the exponential, which leaves the softmax unchanged",
    "softmax-axis": "softmax normalises over the batch (axis 0), not over each example's classes (axis 1 or -1)",
    "combined-gradient": "{what} is (Ŷ − Y)/m, the gradient with respect to the softmax's input; the loss's "
                         "backward must return ∂J/∂Ŷ = −(1/m) Y/Ŷ (the softmax applies its own Jacobian)",
    "per-example": "{what} is one loss per example (shape {shape}); the loss is their mean over the batch, "
                   "a single number",
    "mean-over-classes": "{what} averages over the classes too (÷ m·k): J = −(1/m) Σ y ln ŷ averages over the "
                         "m examples only",
    "kernel-flipped": "{what} uses the kernel flipped (a true convolution); the homework, like PyTorch, "
                      "computes the cross-correlation Z[n,y,x,f] = Σ X[n, s·y+i, s·x+j, c] W[i,j,c,f]",
    "stride-ignored": "{what} ignores the stride {stride}: it is what stride 1 gives (shape {shape}); "
                      "step the window by the stride",
    "padding-ignored": "{what} ignores the padding \"same\": pad (k − 1)/2 zeros on each side, so that a "
                       "stride-1 output has the input's height and width",
    "unpadded-input": "{what} is taken from the input without its padding: the windows that made Z read the "
                      "padded input X_pad, so dW must read X_pad too (X_pad[n, s·y+i, s·x+j, c])",
    "padding-added": "{what} is padded although the padding is \"valid\" (no padding)",
    "overlap-overwritten": "overlapping windows overwrite each other's gradient in {what} instead of adding up: "
                           "with a stride smaller than the kernel an input lies in several windows; add with +=",
    "average-not-divided": "{what} is the window's sum, not its average: divide by the window size "
                           "kh·kw = {window}",
    "mode-swapped": "{what} is what {other} pooling gives, where {mode} pooling was asked",
    "stale-cache": "{what} uses a cache from an earlier call: it worked with the input of the previous "
                   "forward call; store what backward needs on every forward call",
    "input-modified": "{what} changes its input array {names} in place: the caller's array (and a layer's "
                      "cache) is altered; work on a copy (e.g. Z = Z.copy()) or write to a new array",
    "batch-dim-params": "the parameters have a batch dimension: {name} was created with shape {shape}, one row "
                        "per example; it must have shape {expected_shape} whatever the batch size",
    "param-shape": "{name} was created with shape {shape} where {expected_shape} is expected",
    "flatten-order": "{what} orders the entries differently from a row-major reshape "
                     "(X.reshape(X.shape[0], -1)) and its inverse",
    "model-skips-first": "NeuralNetwork.backward never calls the first layer's backward (the loop stops one "
                         "layer early), so that layer's gradients stay zero",
    "model-skips-last": "NeuralNetwork.backward does not start at the last layer: the loss's gradient must go "
                        "into the last layer's backward first",
    "model-order": "NeuralNetwork.{method} calls the layers in the order {order}; {expected}",
    "model-returns-loss": "NeuralNetwork.backward returns {value} instead of the loss J(Y, Ŷ) = {expected}",
    "model-output": "NeuralNetwork.forward returns {which} instead of the last layer's output",
    "model-layers-wrong": "NeuralNetwork.{method} wires your layers right (it equals your own layers applied in "
                          "order), but they do not give the right result: {parts} (see those parts)",
    "forward-wrong": "your backward is the derivative of your own forward (finite differences agree), and "
                     "that forward is wrong: fix {forward} first",
    "not-derivative": "{what} does not match the derivative of your own forward: central finite differences at "
                      "{count} entries disagree (e.g. entry {index}: yours {yours}, finite differences {fd})",
    "not-stored": "{what} is all zeros: backward does not store the gradient it computes in self.gradients",
    "empty": "{what} is empty (shape {shape}): cropping the padding with A[:, p:-p] gives nothing when p = 0 "
             "(-0 is 0); crop with A[:, p:A.shape[1] - p] instead",
    "integer-result": "{what} holds integers, the right values cut to whole numbers: an integer array (np.vectorize "
                      "takes its result type from the first entry, e.g. a ReLU's 0) or an integer literal; "
                      "work in floating point (np.maximum(Z, 0), 0.0)",
    "all-zero": "{what} is all zeros: that layer's backward was not called, or did not store its gradients",
    "wrong-shape": "{what} has shape {shape} where {expected_shape} is expected",
    "reference-implementation": "your code uses a reference implementation ({what}): graded code must compute the "
                                "homework itself; it may not import backproplab, PyTorch, TensorFlow, JAX or the like",
    "tampering": "your code reached for the grader ({what}): graded code may not use ctypes or read the memory or "
                 "environment of other processes",
    "not-finite": "{what} holds NaN or infinity",
    "train-accuracy": "the trained network reaches {accuracy} test accuracy on Iris (needs {bar})",
    # the L2 loss (kinds/l2.py)
    "l2-not-squared": "{what} does not square the differences (a norm ‖Y − Ŷ‖, or a mean of |y − ŷ|): the L2 loss "
                      "is the mean squared error, J = {formula}",
    "l2-other-convention": "{what} is {factor} the gradient of {basis}: it is the gradient of the other convention, "
                           "{other}; a loss's forward and backward must use the same one, here ∂J/∂Ŷ = {gradient}",
    # batch normalisation (kinds/batch_norm.py)
    "bn-unbiased-variance": "{what} normalises with the unbiased variance (÷ (m − 1), e.g. np.var(X, ddof=1)); "
                            "batch normalisation divides by m: σ² = (1/m) Σ (x − μ)², np.var's default",
    "bn-unbiased-running": "{what} averages the unbiased batch variance (÷ (m − 1), as PyTorch does); the homework's "
                           "running variance averages the biased σ² the layer normalises with: running_var = "
                           "momentum · running_var + (1 − momentum) · σ²",
    "bn-eps-outside": "{what} adds ε outside the square root (√σ² + ε); it belongs inside: "
                      "X̂ = (X − μ) / √(σ² + ε)",
    "bn-momentum-swapped": "{what} gives the new batch the weight momentum (running = (1 − momentum) · running + "
                           "momentum · batch); the homework's momentum weighs the old value: running = momentum · "
                           "running + (1 − momentum) · batch",
    "bn-running-first-batch": "{what} starts from the first batch's statistics; the running mean and variance "
                              "start at zeros, and every training batch, the first too, is averaged in with "
                              "running = momentum · running + (1 − momentum) · batch",
    "bn-test-batch-stats": "{what} normalises with the test batch's own mean and variance; mode \"test\" uses the "
                           "running ones: X̂ = (X − running_mu) / √(running_var + ε)",
    "bn-test-updates": "forward(X, mode=\"test\") changes the running statistics ({what}); only training updates "
                       "them: update them in the \"train\" branch alone",
    "bn-no-stat-paths": "{what} treats μ and σ² as constants (dX = γ dY / √(σ² + ε)); both depend on every row "
                        "of X: dX = (γ / (m √(σ² + ε))) (m dY − Σ dY − X̂ Σ (dY ⊙ X̂)), the sums over the batch",
    "bn-no-variance-path": "{what} leaves out the path through σ² (it has the mean's, −Σ dY, but not −X̂ Σ (dY ⊙ "
                           "X̂)): dX = (γ / (m √(σ² + ε))) (m dY − Σ dY − X̂ Σ (dY ⊙ X̂))",
    # the Elman recurrent layer (kinds/elman.py)
    "elman-not-accumulated": "{what} holds one time step's gradient only: W, U and b are shared by every step, so "
                             "their gradients add up over t = 1 … T (dW += X_tᵀ dZ_t inside the loop, from zeros)",
    "elman-delta-not-propagated": "{what} does not carry the state's gradient back through time: step t passes "
                                  "δ_{{t−1}} = dZ_t Uᵀ to the state s_{{t−1}} before it (δ = dZ @ U.T after each "
                                  "step, starting from δ_T = dL/ds_T)",
    "elman-time-reversed": "{what} lists the time steps in reverse order (the loop runs from T down to 1): return "
                           "dL/dX_t in time order, t = 1 … T (fill index t, or insert(0, dX_t))",
    "elman-state-off-by-one": "{what} pairs dZ_t with s_t, the state step t produced; U multiplies the state that "
                              "entered step t: dU = Σ_t s_{{t−1}}ᵀ dZ_t (s_0 = 0)",
}

#: causes named by the verdict itself, not by comparing results: their sentences are written
#: where they are found (the grader, the sandbox)
VERDICT_RULES = {
    "not-implemented": "the starter's blank is not filled in (..., None, NotImplementedError, a name never set)",
    "missing-class": "a class the term's homework has is not in the package",
    "absent": "the class is not in this term's homework: not counted",
    "timeout": "the part did not finish within its time limit",
    "exit": "the process ended inside the learner's code (sys.exit, os._exit, a signal, a crash)",
    "malformed-result": "what the part's process sent is not what the protocol allows",
}
#: what the environment rules of ``environment_cause`` are named
ENVIRONMENT_RULES = ("missing-file", "missing-module", "numpy-removed", "python2", "blank-left-in", "syntax-error",
                     "uses-blank", "out-of-memory", "import-error")
CATALOGUE = frozenset(RESULT_RULES) | frozenset(VERDICT_RULES) | frozenset(ENVIRONMENT_RULES)

#: NumPy names removed in 1.24 (the aliases) and 2.0, and what replaces them
NUMPY_REMOVED = {
    "int": "int (or np.int64)", "float": "float (or np.float64)", "bool": "bool (or np.bool_)",
    "object": "object", "str": "str", "long": "int", "unicode": "str", "complex": "complex",
    "product": "np.prod", "cumproduct": "np.cumprod", "sometrue": "np.any", "alltrue": "np.all",
    "float_": "np.float64", "complex_": "np.complex128", "NaN": "np.nan", "NAN": "np.nan", "Inf": "np.inf",
    "Infinity": "np.inf", "infty": "np.inf", "PINF": "np.inf", "NINF": "-np.inf", "asfarray": "np.asarray(x, float)",
    "round_": "np.round", "row_stack": "np.vstack", "trapz": "np.trapezoid", "in1d": "np.isin",
    "msort": "np.sort(a, axis=0)", "mat": "np.asmatrix", "string_": "np.bytes_", "unicode_": "np.str_",
}

#: the import name of a module → what ``pip install`` takes
PIP_NAMES = {"sklearn": "scikit-learn", "PIL": "pillow", "cv2": "opencv-python", "yaml": "pyyaml",
             "skimage": "scikit-image"}
#: what the course's starter package imports beyond numpy (the ``homework`` extra installs them)
STARTER_IMPORTS = {"pandas", "tqdm", "matplotlib"}
PYTHON2 = [re.compile(p) for p in (r"^\s*print\s+[^\s(=]", r"^\s*except\s+[\w.]+\s*,\s*\w+\s*:",
                                   r"^\s*raise\s+\w+\s*,", r"^\s*exec\s+[\"']", r"`")]
BLANK = re.compile(r"^\s*[\w.\[\]\"']+\s*(:\s*[\w.\[\], ]+)?\s*=\s*(#.*)?$")


def result_cause(rule: str, **fields) -> str:
    return RESULT_RULES[rule].format(**fields)


def where(info: dict, package_root: str) -> str:
    """``neural_networks/layers.py:124`` for the file and line of an error description."""
    path = info.get("file")
    if not path:
        return ""
    try:
        shown = os.path.relpath(path, package_root)
    except ValueError:
        shown = path
    if shown.startswith(".."):
        shown = path
    return f"{shown}:{info['line']}" if info.get("line") else shown


def environment_cause(info: dict, package_root: str) -> tuple[str, str] | None:
    """(rule, sentence) for an exception whose cause lies outside the learner's math."""
    kind, message, at = info.get("type", ""), info.get("message", ""), where(info, package_root)
    text = info.get("text", "")
    if kind == "ModuleNotFoundError" and info.get("module"):
        return _missing_module(info["module"], at)
    if kind == "AttributeError":
        found = re.search(r"module 'numpy' has no attribute '(\w+)'", message)
        if found and found.group(1) in NUMPY_REMOVED:
            import numpy

            name = found.group(1)
            return "numpy-removed", (f"np.{name} was removed from NumPy (this Python has NumPy {numpy.__version__}); "
                                     f"at {at}: use {NUMPY_REMOVED[name]} instead")
    if kind in ("SyntaxError", "IndentationError", "TabError"):
        if "Missing parentheses in call to" in message or any(p.search(text) for p in PYTHON2) or kind == "TabError":
            return "python2", (f"Python 2 code at {at} ({text.strip()}): this homework is Python 3 "
                               "(print(...) is a function, `except E as e`, no tabs mixed with spaces)")
        if BLANK.match(text) or text.strip() in ("...", "# YOUR CODE HERE"):
            return "blank-left-in", (f"the starter's blank is still at {at} ({text.strip()}): Python cannot load "
                                     "the file, so nothing in it runs; fill the blank in")
        return "syntax-error", f"{kind} at {at} ({text.strip()}): {message}; the file cannot be loaded"
    if kind == "NameError" and re.search(r"name '(xrange|raw_input|unicode|basestring|unichr|long)'", message):
        return "python2", f"Python 2 code at {at}: {message} (a Python 2 built-in; this homework is Python 3)"
    if kind == "TypeError" and "'ellipsis'" in message:
        return "uses-blank", (f"{message} at {at}: the code uses a value that a method still returns as ... "
                              "(a blank not filled in yet); fill in that method first")
    if kind == "SystemExit":
        return "exit", (f"the code calls sys.exit() or exit() (code {info.get('exit_code')}) at {at}: a layer "
                        "must return its result, not end the program")
    if info.get("memory"):
        return "out-of-memory", (f"ran out of memory at {at} (more than the memory limit; --memory raises it): "
                                 "an array far larger than the inputs")
    if kind == "ImportError":
        return "import-error", f"an import fails at {at}: {message}"
    return None


def _missing_module(module: str, at: str) -> tuple[str, str]:
    top = module.split(".")[0]
    if top == "neural_networks":
        return "missing-file", (f"the code imports {module} (at {at}), which is not in the package: a file of the "
                                "starter package is missing; copy it in")
    pip = PIP_NAMES.get(top, top)
    extra = (" (or pip install 'backproplab[homework]', which installs what the course's starter package "
             "imports)") if top in STARTER_IMPORTS else ""
    return "missing-module", (f"the code imports {top} (at {at}), which is not installed for {sys.executable}: "
                              f"{sys.executable} -m pip install {pip}{extra}")
