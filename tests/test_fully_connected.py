"""FullyConnected against a torch twin (float64, 1e-10) and finite differences, plus bad input."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from backproplab.nn.gradcheck import check_gradients
from backproplab.nn.layers import FullyConnected, initialize_layer
from conftest import assert_close

ACT = {"linear": lambda z: z, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh,
       "softmax": lambda z: torch.softmax(z, dim=-1)}


@pytest.mark.parametrize("activation", list(ACT))
@given(m=st.integers(1, 64), n_in=st.integers(1, 64), n_out=st.integers(1, 64), seed=st.integers(0, 2**32 - 1))
def test_matches_torch(activation, m, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n_in))
    layer = FullyConnected(n_out, activation=activation, rng=rng)
    Y = layer.forward(X)
    layer.parameters["b"] = rng.standard_normal((1, n_out))  # a non-zero bias, so db is tested too
    Y = layer.forward(X)
    dY = rng.standard_normal(Y.shape)
    dX = layer.backward(dY)

    x = torch.tensor(X, requires_grad=True)
    W = torch.tensor(layer.parameters["W"], requires_grad=True)
    b = torch.tensor(layer.parameters["b"], requires_grad=True)
    y = ACT[activation](x @ W + b)
    y.backward(torch.tensor(dY))
    assert_close(Y, y.detach().numpy(), what="forward")
    assert_close(dX, x.grad.numpy(), what="dX")
    assert_close(layer.gradients["W"], W.grad.numpy(), what="dW")
    assert_close(layer.gradients["b"], b.grad.numpy(), what="db")


@pytest.mark.parametrize("activation", ["linear", "relu", "tanh", "softmax"])
@given(m=st.integers(1, 5), n_in=st.integers(1, 5), n_out=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_finite_differences(activation, m, n_in, n_out, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n_in))
    layer = FullyConnected(n_out, activation=activation, rng=rng)
    dY = rng.standard_normal(layer.forward(X).shape)
    assume(activation != "relu" or np.min(np.abs(layer.cache["Z"])) > 1e-4)  # away from ReLU's kink
    dX = layer.backward(dY)
    grads = {k: v.copy() for k, v in layer.gradients.items()}
    assert check_gradients(layer.forward, dX, X, dY) < 1e-7
    for name in ("W", "b"):
        value = layer.parameters[name].copy()
        err = check_gradients(layer.forward_with_param(name, X), grads[name], value, dY)
        layer.parameters[name] = value
        assert err < 1e-7, name


def test_parameter_shapes_and_lazy_init(rng):
    layer = initialize_layer("fully_connected", n_out=3, activation="relu")
    assert layer.parameters == {}
    layer.forward(rng.standard_normal((2, 5)))
    assert layer.parameters["W"].shape == (5, 3)
    assert layer.parameters["b"].shape == (1, 3) and not layer.parameters["b"].any()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype, rng):
    layer = FullyConnected(4, activation="relu", rng=rng)
    X = rng.standard_normal((3, 5)).astype(dtype)
    Y = layer.forward(X)
    assert Y.dtype == dtype and layer.parameters["W"].dtype == dtype
    dX = layer.backward(np.ones_like(Y))
    assert dX.dtype == dtype and layer.gradients["W"].dtype == dtype


def test_batch_of_one(rng):
    layer = FullyConnected(2, activation="softmax", rng=rng)
    assert layer.forward(rng.standard_normal((1, 3))).shape == (1, 2)


def test_clear_gradients_zeroes_and_forgets_the_cache(rng):
    layer = FullyConnected(2, rng=rng)
    layer.forward(rng.standard_normal((3, 4)))
    layer.backward(np.ones((3, 2)))
    layer.clear_gradients()
    assert layer.cache == {} and not layer.gradients["W"].any()


def test_bad_inputs_are_clear_errors(rng):
    layer = FullyConnected(3, rng=rng)
    with pytest.raises(ValueError, match=r"2-D input \(batch, features\); got shape \(4,\)"):
        layer.forward(np.zeros(4))
    layer.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"initialised for inputs with features \(4,\); got \(5,\)"):
        layer.forward(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="floating-point input"):
        layer.forward(np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="float64 parameters but got a float32 input"):
        layer.forward(np.zeros((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="n_out >= 1"):
        FullyConnected(0)
    with pytest.raises(KeyError, match="unknown activation 'gelu'"):
        FullyConnected(3, activation="gelu")
    with pytest.raises(KeyError, match="unknown weight initialiser 'glorot'"):
        FullyConnected(3, weight_init="glorot")
    with pytest.raises(RuntimeError, match="backward called before forward"):
        FullyConnected(3).backward(np.zeros((2, 3)))
    with pytest.raises(KeyError, match="unknown layer 'dense'"):
        initialize_layer("dense", n_out=3)
