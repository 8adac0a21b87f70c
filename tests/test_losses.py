"""Cross-entropy against torch (float64), finite differences, the zero guard and bad input."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from backproplab.nn.activations import Softmax
from backproplab.nn.gradcheck import check_gradients
from backproplab.nn.losses import CrossEntropy, initialize_loss, one_hot
from conftest import assert_close


def draw(seed, m, k):
    rng = np.random.default_rng(seed)
    Y = one_hot(rng.integers(0, k, size=m), k)
    Y_hat = rng.dirichlet(np.ones(k), size=m)
    return Y, Y_hat


@given(m=st.integers(1, 64), k=st.integers(1, 64), seed=st.integers(0, 2**32 - 1))
def test_matches_torch(m, k, seed):
    Y, Y_hat = draw(seed, m, k)
    Y_hat = np.maximum(Y_hat, 1e-300)  # torch's log has no guard; stay where both are exact
    p = torch.tensor(Y_hat, requires_grad=True)
    ref = -(torch.tensor(Y) * torch.log(p)).sum() / m
    ref.backward()
    loss = CrossEntropy()
    value = loss.forward(Y, Y_hat)
    assert isinstance(value, float)
    assert_close(value, ref.item(), what="cross-entropy value")
    assert_close(loss.backward(Y, Y_hat), p.grad.numpy(), what="cross-entropy gradient")


@given(m=st.integers(1, 8), k=st.integers(2, 8), seed=st.integers(0, 2**32 - 1))
def test_finite_differences(m, k, seed):
    Y, Y_hat = draw(seed, m, k)
    Y_hat = 0.05 + 0.9 * Y_hat  # keep Ŷ ± h inside (0, 1)
    loss = CrossEntropy()
    assert check_gradients(lambda P: loss.forward(Y, P), loss.backward(Y, Y_hat), Y_hat, 1.0) < 1e-7


@given(m=st.integers(1, 64), k=st.integers(2, 20), seed=st.integers(0, 2**32 - 1))
def test_softmax_then_cross_entropy_is_y_hat_minus_y_over_m(m, k, seed):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((m, k)) * 5
    Y = one_hot(rng.integers(0, k, size=m), k)
    S = Softmax()
    Y_hat = S.forward(Z)
    dZ = S.backward(Z, CrossEntropy().backward(Y, Y_hat))
    assert_close(dZ, (Y_hat - Y) / m, tol=1e-9, what="softmax+CE shortcut")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exact_zeros_give_finite_cost_and_gradient(dtype):
    Y = np.eye(3, dtype=dtype)
    Y_hat = np.array([[0, 0.5, 0.5], [0, 1, 0], [1, 0, 0]], dtype=dtype)  # true class has p = 0 in row 0 and 2
    loss = CrossEntropy()
    value = loss.forward(Y, Y_hat)
    grad = loss.backward(Y, Y_hat)
    assert np.isfinite(value) and value > 0
    assert np.all(np.isfinite(grad)) and grad.dtype == dtype
    # a perfect prediction costs exactly 0
    assert loss.forward(Y, Y.copy()) == 0.0


def test_float32_gradient_stays_float32(rng):
    Y, Y_hat = draw(0, 4, 3)
    assert CrossEntropy().backward(Y.astype(np.float32), Y_hat.astype(np.float32)).dtype == np.float32


def test_bad_inputs_are_clear_errors():
    loss = CrossEntropy()
    with pytest.raises(ValueError, match=r"same shape.*\(2, 3\).*\(2, 4\)"):
        loss.forward(np.eye(3)[:2], np.full((2, 4), 0.25))
    with pytest.raises(ValueError, match="one-hot"):
        loss.forward(np.array([[0.7, 0.7]]), np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError, match="probability distribution per row"):
        loss.forward(np.array([[1.5, -0.5]]), np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError, match="one-hot"):
        loss.backward(np.array([[1.0, 1.0]]), np.array([[0.5, 0.5]]))
    with pytest.raises(ValueError, match="NaN or inf"):
        loss.forward(np.array([[1.0, 0.0]]), np.array([[np.nan, 0.5]]))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        loss.forward(np.array([[1.0, 0.0]]), np.array([[1.5, -0.5]]))
    with pytest.raises(KeyError, match="unknown loss 'mse'"):
        initialize_loss("mse")
    with pytest.raises(ValueError, match=r"labels must lie in 0..2"):
        one_hot(np.array([0, 3]), 3)


@given(m=st.integers(1, 32), k=st.integers(2, 20), eps=st.floats(0.0, 0.9), seed=st.integers(0, 2**32 - 1))
def test_label_smoothing_matches_torch_through_softmax(m, k, eps, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, k, size=m)
    Z = rng.standard_normal((m, k)) * 3
    z = torch.tensor(Z, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(z, torch.tensor(labels), label_smoothing=eps)
    ref.backward()
    softmax, loss = Softmax(), CrossEntropy(label_smoothing=eps)
    Y, Y_hat = one_hot(labels, k), softmax.forward(Z)
    assert_close(loss.forward(Y, Y_hat), ref.item(), what="smoothed cross-entropy")
    assert_close(softmax.backward(Z, loss.backward(Y, Y_hat)), z.grad.numpy(), what="smoothed dZ", tol=1e-9)
    P = 0.05 + 0.9 * rng.dirichlet(np.ones(k), size=m)
    assert check_gradients(lambda Q: loss.forward(Y, Q), loss.backward(Y, P), P, 1.0) < 1e-7


@given(m=st.integers(1, 32), k=st.integers(2, 12), eps=st.floats(0.0, 0.5), seed=st.integers(0, 2**32 - 1))
def test_soft_targets_match_torch(m, k, eps, seed):
    """A mixup target λ·onehot(a) + (1 − λ)·onehot(b): the same formulas, against torch's
    cross_entropy with class-probability targets."""
    rng = np.random.default_rng(seed)
    lam = rng.uniform()
    Y = lam * one_hot(rng.integers(0, k, m), k) + (1 - lam) * one_hot(rng.integers(0, k, m), k)
    Z = rng.standard_normal((m, k)) * 2
    z = torch.tensor(Z, requires_grad=True)
    ref = torch.nn.functional.cross_entropy(z, torch.tensor(Y), label_smoothing=eps)
    ref.backward()
    softmax, loss = Softmax(), CrossEntropy(label_smoothing=eps)
    Y_hat = softmax.forward(Z)
    assert_close(loss.forward(Y, Y_hat), ref.item(), what="soft cross-entropy")
    assert_close(softmax.backward(Z, loss.backward(Y, Y_hat)), z.grad.numpy(), what="soft dZ", tol=1e-9)
