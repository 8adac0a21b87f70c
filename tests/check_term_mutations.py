"""Copies of the term fixtures (``check_fixtures/<term>``: ``elman_term`` has Elman and L2,
``batchnorm_term`` BatchNorm1D), each with exactly one mistake, and the verdict and catalogue
rule ``backproplab check`` must give for it: one mutation per cause the kinds of those
classes name (``kinds/l2.py``, ``kinds/batch_norm.py``, ``kinds/elman.py``).

A mutation is a ``check_mutations.Mutation`` plus the fixture it edits and, where one mistake
touches two places (a forward and the backward that matches it), further edits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from check_mutations import Mutation, package_with

FIXTURES = Path(__file__).parent / "check_fixtures"


@dataclass(frozen=True)
class TermMutation(Mutation):
    fixture: str = "elman_term"
    more: tuple[tuple[str, str, str, int], ...] = ()  # further (file, old, new, occurrence) edits

    @property
    def edits(self) -> list[tuple[str, str, str, int]]:
        return [(self.file, self.old, self.new, self.occurrence), *self.more]


def package_in(tmp_path: Path, fixture: str, *edits: tuple[str, str, str, int]) -> Path:
    """A copy of the fixture package ``fixture`` with each (file, old, new, occurrence) applied."""
    return package_with(tmp_path, *edits, fixture=fixture)


def _l2(name, old, new, part, rule, verdict="wrong", occurrence=1, more=()):
    return TermMutation(name, "losses.py", old, new, part, verdict, rule, occurrence, fixture="elman_term", more=more)


def _bn(name, old, new, part, rule, verdict="wrong", occurrence=1, more=()):
    return TermMutation(name, "layers.py", old, new, part, verdict, rule, occurrence, fixture="batchnorm_term",
                        more=more)


def _elman(name, old, new, part, rule, verdict="wrong", occurrence=1, more=()):
    return TermMutation(name, "layers.py", old, new, part, verdict, rule, occurrence, fixture="elman_term", more=more)


L2_J = "return np.sum((Y - Y_hat) ** 2) / m"
L2_GRAD = "return 2.0 * (Y_hat - Y) / m"
L2_BOTH = f"{L2_J}\n\n    def backward(self, Y, Y_hat):\n        m = Y.shape[0]\n        {L2_GRAD}"

L2_MUTATIONS = [
    _l2("l2 per example", L2_J, "return np.sum((Y - Y_hat) ** 2, axis=1)", "L2.forward", "per-example"),
    _l2("l2 summed", L2_J, "return np.sum((Y - Y_hat) ** 2)", "L2.forward", "times-m"),
    _l2("l2 norm not squared", L2_J, "return np.sqrt(np.sum((Y - Y_hat) ** 2)) / m", "L2.forward", "l2-not-squared"),
    _l2("l2 forward changes Y_hat", L2_J, "Y_hat -= Y\n        return np.sum(Y_hat ** 2) / m", "L2.forward",
        "input-modified"),
    _l2("l2 backward of the other convention", L2_GRAD, "return (Y_hat - Y) / m", "L2.backward",
        "l2-other-convention"),
    _l2("l2 gradient sign", L2_GRAD, "return 2.0 * (Y - Y_hat) / m", "L2.backward", "sign"),
    _l2("l2 gradient not averaged", L2_GRAD, "return 2.0 * (Y_hat - Y)", "L2.backward", "times-m"),
    _l2("l2 gradient divided twice", L2_GRAD, "return 2.0 * (Y_hat - Y) / m / m", "L2.backward", "over-m"),
    _l2("l2 gradient not the derivative", L2_GRAD, "return 2.0 * (Y_hat - Y) ** 2 / m", "L2.backward",
        "not-derivative"),
    _l2("l2 forward and backward both a third", L2_BOTH, L2_BOTH.replace("/ m", "/ (3 * m)"), "L2.backward",
        "forward-wrong"),
]

BN_TRAIN_HAT = "X_hat = (X - mu) / np.sqrt(var + self.eps)               # (B, C)"
BN_TEST_HAT = 'X_hat = (X - self.cache["running_mu"]) / np.sqrt(self.cache["running_var"] + self.eps)'
BN_DX = "return inv_std / B * (B * dX_hat"

BN_MUTATIONS = [
    _bn("batch norm unbiased variance", "var = ((X - mu) ** 2).mean(axis=0, keepdims=True)",
        "var = X.var(axis=0, ddof=1, keepdims=True)", "BatchNorm1D.forward", "bn-unbiased-variance"),
    _bn("batch norm running variance unbiased", "running_var=m * self.cache[\"running_var\"] + (1 - m) * var)",
        "running_var=m * self.cache[\"running_var\"] + (1 - m) * var * B / (B - 1))", "BatchNorm1D.forward",
        "bn-unbiased-running", more=(("layers.py", "m = self.momentum", "m = self.momentum\n            B = X.shape[0]",
                                      1),)),
    _bn("batch norm eps outside the root", BN_TRAIN_HAT, "X_hat = (X - mu) / (np.sqrt(var) + self.eps)",
        "BatchNorm1D.forward", "bn-eps-outside"),
    _bn("batch norm backward eps outside the root", "inv_std = 1.0 / np.sqrt(var + self.eps)",
        "inv_std = 1.0 / (np.sqrt(var) + self.eps)", "BatchNorm1D.backward", "bn-eps-outside"),
    _bn("batch norm momentum the other way round", "m = self.momentum", "m = 1 - self.momentum",
        "BatchNorm1D.forward", "bn-momentum-swapped"),
    _bn("batch norm running stats from the first batch", "m = self.momentum",
        'm = self.momentum if np.any(self.cache["running_var"]) else 0.0', "BatchNorm1D.forward",
        "bn-running-first-batch"),
    _bn("batch norm test mode uses the batch", BN_TEST_HAT,
        "X_hat = (X - X.mean(axis=0)) / np.sqrt(X.var(axis=0) + self.eps)", "BatchNorm1D.forward",
        "bn-test-batch-stats"),
    _bn("batch norm test mode updates the running mean", BN_TEST_HAT,
        f'{BN_TEST_HAT}\n            self.cache["running_mu"] = 0.5 * self.cache["running_mu"]', "BatchNorm1D.forward",
        "bn-test-updates"),
    _bn("batch norm mean and variance as constants", BN_DX, "return dX_hat * inv_std\n        return (B * dX_hat",
        "BatchNorm1D.backward", "bn-no-stat-paths"),
    _bn("batch norm no variance path", BN_DX,
        "return inv_std * (dX_hat - dX_hat.mean(axis=0, keepdims=True))\n        return (B * dX_hat",
        "BatchNorm1D.backward", "bn-no-variance-path"),
    _bn("batch norm beta gradient per row", 'self.gradients["beta"] = np.sum(dY, axis=0, keepdims=True)',
        'self.gradients["beta"] = dY', "BatchNorm1D.backward", "bias-not-summed"),
    _bn("batch norm gamma gradient not stored", 'self.gradients["gamma"] = np.sum(dY * X_hat, axis=0, keepdims=True)',
        'dgamma = np.sum(dY * X_hat, axis=0, keepdims=True)', "BatchNorm1D.backward", "not-stored"),
    _bn("batch norm gamma per example", "gamma = np.ones((1, self.n_in))", "gamma = np.ones((X_shape[0], self.n_in))",
        "BatchNorm1D.forward", "batch-dim-params"),
    _bn("batch norm gamma with an extra axis", "gamma = np.ones((1, self.n_in))", "gamma = np.ones((1, 1, self.n_in))",
        "BatchNorm1D.forward", "param-shape"),
    _bn("batch norm dX not averaged", BN_DX, "return inv_std * (B * dX_hat", "BatchNorm1D.backward", "times-m"),
    _bn("batch norm dX averaged twice", BN_DX, "return inv_std / B / B * (B * dX_hat", "BatchNorm1D.backward",
        "over-m"),
    _bn("batch norm centres its input in place", BN_TRAIN_HAT,
        "X -= mu\n            X_hat = X / np.sqrt(var + self.eps)", "BatchNorm1D.forward", "input-modified"),
    _bn("batch norm dX not the derivative", "- X_hat * np.sum(dX_hat * X_hat, axis=0, keepdims=True)",
        "- X_hat * np.sum(dX_hat, axis=0, keepdims=True)", "BatchNorm1D.backward", "not-derivative"),
    _bn("batch norm forward and backward add X", "return gamma * X_hat + beta", "return gamma * X_hat + beta + 0.5 * X",
        "BatchNorm1D.backward", "forward-wrong", more=(("layers.py", BN_DX, f"return 0.5 * dY + {BN_DX[7:]}", 1),)),
]

ELMAN_DZ = "dZ = self.activation.backward(Zs[t], ds)"
ELMAN_GRADS = 'self.gradients = {"W": dW, "U": dU, "b": db}'
ELMAN_STEP = 'W, U, b = self.parameters["W"], self.parameters["U"], self.parameters["b"]'

ELMAN_MUTATIONS = [
    _elman("elman weights' gradients overwritten", "dW += Xs[t].T @ dZ", "dW = Xs[t].T @ dZ", "Elman.backward",
           "elman-not-accumulated"),
    _elman("elman delta not through U", "ds = dZ @ U.T", "ds = dZ", "Elman.backward", "elman-delta-not-propagated"),
    _elman("elman delta never updated", "ds = dZ @ U.T", "pass", "Elman.backward", "elman-delta-not-propagated"),
    _elman("elman dX in reversed time order", "dLdX[t] = dZ @ W.T", "dLdX[len(Xs) - 1 - t] = dZ @ W.T",
           "Elman.backward", "elman-time-reversed"),
    _elman("elman dU with the state after the step", "dU += states[t].T @ dZ", "dU += states[t + 1].T @ dZ",
           "Elman.backward", "elman-state-off-by-one"),
    _elman("elman derivative at the state", ELMAN_DZ, "dZ = self.activation.backward(states[t + 1], ds)",
           "Elman.backward", "cached-output"),
    _elman("elman skips the derivative", ELMAN_DZ, "dZ = ds", "Elman.backward", "activation-skipped"),
    _elman("elman derivative twice", ELMAN_DZ,
           "dZ = self.activation.backward(Zs[t], self.activation.backward(Zs[t], ds))", "Elman.backward",
           "activation-twice"),
    _elman("elman forgets its activation", "s = self.activation(Z)", "s = Z", "Elman.forward",
           "activation-not-applied"),
    _elman("elman keeps its states between calls", "self._init_cache(X.shape)",
           "if not self.cache:\n            self._init_cache(X.shape)", "Elman.forward", "stale-cache"),
    _elman("elman keeps its states between calls (backward)", "self._init_cache(X.shape)",
           "if not self.cache:\n            self._init_cache(X.shape)", "Elman.backward", "stale-cache"),
    _elman("elman bias gradient per row", "db += dZ.sum(axis=0, keepdims=True)", "db = db + dZ", "Elman.backward",
           "bias-not-summed"),
    _elman("elman gradients not stored", ELMAN_GRADS, ELMAN_GRADS.replace("self.gradients", "self.grads"),
           "Elman.backward", "not-stored"),
    _elman("elman bias per example", "b = np.zeros((1, self.n_out))", "b = np.zeros((X_shape[0], self.n_out))",
           "Elman.forward", "batch-dim-params", occurrence=2),
    _elman("elman keeps b outside its parameters", 'self.parameters = {"W": W, "U": U, "b": b}',
           'self.b = b\n        self.parameters = {"W": W, "U": U}', "Elman.forward", "param-shape",
           more=(("layers.py", ELMAN_STEP, 'W, U, b = self.parameters["W"], self.parameters["U"], self.b', 1),)),
    _elman("elman dW transposed", ELMAN_GRADS, ELMAN_GRADS.replace('"W": dW', '"W": dW.T'), "Elman.backward",
           "transposed"),
    _elman("elman dW times the batch", ELMAN_GRADS, ELMAN_GRADS.replace('"W": dW', '"W": dW * len(dLdY)'),
           "Elman.backward", "times-m"),
    _elman("elman dW over the batch", ELMAN_GRADS, ELMAN_GRADS.replace('"W": dW', '"W": dW / len(dLdY)'),
           "Elman.backward", "over-m"),
    _elman("elman zeroes its input", "        return out\n", "        X[:] = 0.0\n        return out\n",
           "Elman.forward", "input-modified"),
    _elman("elman dX from delta", "dLdX[t] = dZ @ W.T", "dLdX[t] = ds @ W.T", "Elman.backward", "not-derivative"),
    _elman("elman forward and backward with 2b", "Z = X @ W + self.cache[\"s\"][-1] @ U + b",
           "Z = X @ W + self.cache[\"s\"][-1] @ U + 2 * b", "Elman.backward", "forward-wrong",
           more=(("layers.py", "db += dZ.sum(axis=0, keepdims=True)", "db += 2 * dZ.sum(axis=0, keepdims=True)", 1),)),
]

TERM_MUTATIONS = [*L2_MUTATIONS, *BN_MUTATIONS, *ELMAN_MUTATIONS]
