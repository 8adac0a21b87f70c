"""Elman against torch.nn.RNN and a hand-written torch loop (float64, 1e-10), finite differences,
T = 1 as a dense layer, in a model with the L2 loss, and bad input."""

import numpy as np
import pytest
import torch
from hypothesis import assume, given
from hypothesis import strategies as st

from backproplab.nn import L2, NeuralNetwork, SGD
from backproplab.nn.gradcheck import check_gradients
from backproplab.nn.layers import Elman, FullyConnected, initialize_layer
from conftest import assert_close

ACT = {"linear": lambda z: z, "relu": torch.relu, "sigmoid": torch.sigmoid, "tanh": torch.tanh}
shapes = dict(m=st.integers(1, 8), n_in=st.integers(1, 8), n_out=st.integers(1, 8), T=st.integers(1, 10),
              seed=st.integers(0, 2**32 - 1))


def run_layer(activation, m, n_in, n_out, T, seed):
    """Our layer on a random X (m, n_in, T) with a non-zero bias: (layer, X, s_T, dY, dX)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, n_in, T))
    layer = Elman(n_out, activation=activation, rng=rng)
    layer.forward(X)
    layer.parameters["b"] = rng.standard_normal((1, n_out))  # so that db is tested too
    Y = layer.forward(X)
    dY = rng.standard_normal(Y.shape)
    return layer, X, Y, dY, layer.backward(dY)


def assert_gradients(layer, Y, dX, y, x, dW, dU, db):
    assert_close(Y, y.detach().numpy(), what="forward s_T")
    assert_close(dX, x.grad.numpy(), what="dX")
    assert_close(layer.gradients["W"], dW, what="dW")
    assert_close(layer.gradients["U"], dU, what="dU")
    assert_close(layer.gradients["b"], db, what="db")


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@given(**shapes)
def test_matches_torch_rnn(activation, m, n_in, n_out, T, seed):
    """torch's RNN computes h_t = σ(x_t W_ihᵀ + b_ih + h_{t−1} W_hhᵀ + b_hh): W_ih = Wᵀ, W_hh = Uᵀ."""
    layer, X, Y, dY, dX = run_layer(activation, m, n_in, n_out, T, seed)
    rnn = torch.nn.RNN(n_in, n_out, nonlinearity=activation, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.tensor(layer.parameters["W"].T))
        rnn.weight_hh_l0.copy_(torch.tensor(layer.parameters["U"].T))
        rnn.bias_ih_l0.copy_(torch.tensor(layer.parameters["b"].reshape(-1)))
        rnn.bias_hh_l0.zero_()
    x = torch.tensor(X, requires_grad=True)
    _, h_T = rnn(x.permute(0, 2, 1))  # (m, T, n_in) in, h_T (1, m, n_out) out
    h_T[0].backward(torch.tensor(dY))
    assert_gradients(layer, Y, dX, h_T[0], x, rnn.weight_ih_l0.grad.numpy().T, rnn.weight_hh_l0.grad.numpy().T,
                     rnn.bias_ih_l0.grad.numpy().reshape(1, -1))


@pytest.mark.parametrize("activation", list(ACT))
@given(**shapes)
def test_matches_a_torch_loop(activation, m, n_in, n_out, T, seed):
    """s_t = σ(X_t W + s_{t−1} U + b) written out in torch, differentiated by autograd."""
    layer, X, Y, dY, dX = run_layer(activation, m, n_in, n_out, T, seed)
    x = torch.tensor(X, requires_grad=True)
    W, U, b = (torch.tensor(layer.parameters[k], requires_grad=True) for k in ("W", "U", "b"))
    s = torch.zeros((m, n_out), dtype=torch.float64)
    for t in range(T):
        s = ACT[activation](x[:, :, t] @ W + s @ U + b)
    s.backward(torch.tensor(dY))
    assert_gradients(layer, Y, dX, s, x, W.grad.numpy(), U.grad.numpy(), b.grad.numpy())


@pytest.mark.parametrize("activation", list(ACT))
@given(m=st.integers(1, 4), n_in=st.integers(1, 4), n_out=st.integers(1, 4), T=st.integers(1, 5),
       seed=st.integers(0, 2**32 - 1))
def test_finite_differences(activation, m, n_in, n_out, T, seed):
    layer, X, _, dY, dX = run_layer(activation, m, n_in, n_out, T, seed)
    assume(activation != "relu" or np.min(np.abs(layer.cache["Z"])) > 1e-4)  # away from ReLU's kink
    grads = {k: v.copy() for k, v in layer.gradients.items()}
    assert check_gradients(layer.forward, dX, X, dY) < 1e-7
    for name in ("W", "U", "b"):
        value = layer.parameters[name].copy()
        err = check_gradients(layer.forward_with_param(name, X), grads[name], value, dY)
        layer.parameters[name] = value
        assert err < 1e-7, name


@given(m=st.integers(1, 8), n_in=st.integers(1, 8), n_out=st.integers(1, 8), seed=st.integers(0, 2**32 - 1),
       activation=st.sampled_from(list(ACT)))
def test_one_time_step_is_a_dense_layer(m, n_in, n_out, seed, activation):
    """With s_0 = 0, T = 1 is s_1 = σ(X_1 W + b): the dense layer; U gets no gradient."""
    layer, X, Y, dY, dX = run_layer(activation, m, n_in, n_out, 1, seed)
    dense = FullyConnected(n_out, activation=activation)
    dense.restore({"W": layer.parameters["W"], "b": layer.parameters["b"]}, {})
    assert_close(Y, dense.forward(X[:, :, 0]), what="forward")
    assert_close(dX[:, :, 0], dense.backward(dY), what="dX")
    assert_close(layer.gradients["W"], dense.gradients["W"], what="dW")
    assert_close(layer.gradients["b"], dense.gradients["b"], what="db")
    assert not layer.gradients["U"].any()


def test_parameters_shapes_lazy_init_and_any_sequence_length(rng):
    layer = initialize_layer("elman", n_out=3, activation="tanh", weight_init="xavier_uniform")
    assert isinstance(layer, Elman) and layer.parameters == {}
    assert layer.forward(rng.standard_normal((2, 5, 4))).shape == (2, 3)
    assert {k: v.shape for k, v in layer.parameters.items()} == {"W": (5, 3), "U": (3, 3), "b": (1, 3)}
    assert not layer.parameters["b"].any()
    assert layer.forward(rng.standard_normal((6, 5, 9))).shape == (6, 3)  # another batch and length
    assert layer.backward(np.ones((6, 3))).shape == (6, 5, 9)
    assert {k: v.shape for k, v in layer.gradients.items()} == {"W": (5, 3), "U": (3, 3), "b": (1, 3)}


def test_gradients_are_assigned_not_accumulated(rng):
    layer = Elman(3, rng=rng)
    X = rng.standard_normal((4, 2, 5))
    layer.forward(X)
    dY = rng.standard_normal((4, 3))
    layer.backward(dY)
    first = {k: v.copy() for k, v in layer.gradients.items()}
    layer.forward(X)
    layer.backward(dY)
    for k in first:
        np.testing.assert_array_equal(layer.gradients[k], first[k])


def test_restored_parameters_and_the_first_layer_skipping_dX(rng):
    """The grader's path: parameters given, not drawn; the model's first layer returns no dX."""
    W, U, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 3)), rng.standard_normal((1, 3))
    layer = Elman(3)
    layer.restore({"W": W, "U": U, "b": b}, {})
    X = rng.standard_normal((4, 2, 3))
    Y = layer.forward(X)
    np.testing.assert_array_equal(layer.parameters["W"], W)
    dX = layer.backward(np.ones_like(Y))
    grads = {k: v.copy() for k, v in layer.gradients.items()}
    layer.input_grad = False
    layer.forward(X)
    assert layer.backward(np.ones_like(Y)) is None and dX.shape == X.shape
    for k in grads:
        np.testing.assert_array_equal(layer.gradients[k], grads[k])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_kept(dtype, rng):
    layer = Elman(4, rng=rng)
    X = rng.standard_normal((3, 5, 6)).astype(dtype)
    Y = layer.forward(X)
    assert Y.dtype == dtype and layer.parameters["U"].dtype == dtype
    dX = layer.backward(np.ones_like(Y))
    assert dX.dtype == dtype and all(g.dtype == dtype for g in layer.gradients.values())


def test_the_output_is_not_the_cache(rng):
    layer = Elman(2, rng=rng)
    Y = layer.forward(rng.standard_normal((3, 2, 4)))
    Y[:] = 99
    assert not np.any(layer.cache["s"] == 99)


def test_in_a_model_with_the_l2_loss_it_learns_the_next_value_of_a_sine():
    """The homework's train_rnn.py in miniature: Elman → linear dense, L2, next sine value."""
    rng = np.random.default_rng(0)
    phase = rng.uniform(0, 2 * np.pi, (64, 1))
    t = np.arange(9) * 0.3
    seq = np.sin(phase + t)  # (64, 9)
    X, Y = seq[:, None, :8], seq[:, 8:]  # (64, 1, 8) and the value after, (64, 1)
    model = NeuralNetwork([{"name": "elman", "n_out": 8, "activation": "tanh"},
                           {"name": "fully_connected", "n_out": 1, "activation": "linear"}],
                          loss="l2", optimizer=SGD(0.1, momentum=0.9), seed=0)
    assert isinstance(model.loss, L2)
    first = model.backward(Y, model.forward(X))
    for epoch in range(200):
        model.update(epoch)
        last = model.backward(Y, model.forward(X))
    assert last < first / 20, (first, last)


def test_bad_inputs_are_clear_errors(rng):
    layer = Elman(3, rng=rng)
    with pytest.raises(ValueError, match=r"3-D input \(batch, features, time\); got shape \(2, 4\)"):
        layer.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="floating-point input"):
        layer.forward(np.zeros((2, 4, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"at least one feature and one time step.*\(2, 4, 0\)"):
        layer.forward(np.zeros((2, 4, 0)))
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((2, 3)))
    layer.forward(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match=r"initialised for inputs with features \(4,\); got \(5,\)"):
        layer.forward(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="float64 parameters but got a float32 input"):
        layer.forward(np.zeros((2, 4, 3), dtype=np.float32))
    layer.forward(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match=r"dL/ds_T.*\(batch, n_out\) = \(2, 3\); got \(2, 3, 3\)"):
        layer.backward(np.zeros((2, 3, 3)))  # a gradient per time step: not this layer's API
    with pytest.raises(ValueError, match="n_out >= 1"):
        Elman(0)
    with pytest.raises(KeyError, match="unknown activation 'gelu'"):
        Elman(3, activation="gelu")
    with pytest.raises(ValueError, match="bad arguments for layer 'elman'"):
        initialize_layer("elman", n_out=3, kernel_shape=(3, 3))
