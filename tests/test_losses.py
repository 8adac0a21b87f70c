"""Cross-entropy and L2 against torch (float64), finite differences, the zero guard and bad input."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from backproplab.nn.activations import Softmax
from backproplab.nn.gradcheck import check_gradients
from backproplab.nn.losses import L2, CrossEntropy, initialize_loss, one_hot
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


# -- L2 -----------------------------------------------------------------------------------


@given(m=st.integers(1, 64), k=st.integers(1, 8), half=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_l2_matches_torch(m, k, half, seed):
    """J = (1/(2m)) Σ‖y − ŷ‖² (half) or (1/m) Σ‖y − ŷ‖²: torch's summed mse_loss over m, halved or not."""
    rng = np.random.default_rng(seed)
    Y, Y_hat = rng.standard_normal((m, k)), rng.standard_normal((m, k)) * 2
    p = torch.tensor(Y_hat, requires_grad=True)
    ref = torch.nn.functional.mse_loss(p, torch.tensor(Y), reduction="sum") / m * (0.5 if half else 1.0)
    ref.backward()
    loss = L2(half=half)
    value = loss.forward(Y, Y_hat)
    assert isinstance(value, float)
    assert_close(value, ref.item(), what="L2 value")
    assert_close(loss.backward(Y, Y_hat), p.grad.numpy(), what="L2 gradient")
    assert_close(loss.backward(Y, Y_hat), (Y_hat - Y) / m * (1 if half else 2), what="L2 gradient formula")


@given(m=st.integers(1, 8), k=st.integers(1, 4), half=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_l2_finite_differences(m, k, half, seed):
    rng = np.random.default_rng(seed)
    Y, Y_hat = rng.standard_normal((m, k)), rng.standard_normal((m, k))
    loss = L2(half=half)
    assert check_gradients(lambda P: loss.forward(Y, P), loss.backward(Y, Y_hat), Y_hat, 1.0) < 1e-7


def test_l2_conventions_and_the_homeworks_single_output():
    """Y (m, 1): half=False is torch's mse_loss (the mean), the default half=True its half."""
    Y, Y_hat = np.array([[1.0], [2.0], [0.0]]), np.array([[0.0], [2.0], [2.0]])  # errors 1, 0, 2
    assert L2().half and L2().forward(Y, Y_hat) == 5 / 6 and L2(half=False).forward(Y, Y_hat) == 5 / 3
    mse = torch.nn.functional.mse_loss(torch.tensor(Y_hat), torch.tensor(Y)).item()
    assert_close(L2(half=False).forward(Y, Y_hat), mse, what="mse_loss")
    np.testing.assert_allclose(L2().backward(Y, Y_hat), [[-1 / 3], [0], [2 / 3]])
    assert L2().forward(Y, Y.copy()) == 0.0
    assert isinstance(initialize_loss("l2"), L2) and not initialize_loss("l2", half=False).half


def test_l2_keeps_the_dtype_of_y_hat_and_takes_integer_targets():
    Y_hat = np.array([[0.5], [1.5]], dtype=np.float32)
    assert L2().backward(np.array([[0], [1]]), Y_hat).dtype == np.float32
    assert L2().forward(np.array([[0], [1]]), Y_hat) == pytest.approx(0.125)


def test_l2_bad_inputs_are_clear_errors():
    loss = L2()
    with pytest.raises(ValueError, match=r"same shape.*\(3, 1\).*\(3, 2\)"):
        loss.forward(np.zeros((3, 1)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"non-empty matrix \(m, k\).*\(3,\).*reshape\(-1, 1\)"):
        loss.backward(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match=r"non-empty matrix"):
        loss.forward(np.zeros((0, 1)), np.zeros((0, 1)))
    with pytest.raises(ValueError, match="Y_hat contains NaN or inf"):
        loss.forward(np.zeros((2, 1)), np.array([[np.inf], [0.0]]))
    with pytest.raises(ValueError, match="Y contains NaN or inf"):
        loss.backward(np.array([[np.nan], [0.0]]), np.zeros((2, 1)))
    with pytest.raises(ValueError, match="Y_hat must be a floating-point numpy array"):
        loss.forward(np.zeros((2, 1)), np.zeros((2, 1), dtype=np.int64))
    with pytest.raises(ValueError, match="Y must be a real numpy array"):
        loss.forward([[0.0], [1.0]], np.zeros((2, 1)))
    with pytest.raises(ValueError, match="half must be True"):
        L2(half="yes")
    with pytest.raises(ValueError, match="bad arguments for loss 'l2'"):
        initialize_loss("l2", label_smoothing=0.1)
