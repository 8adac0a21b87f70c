"""BatchNorm against torch.nn.BatchNorm1d/2d (float64, 1e-10) and finite differences;
Dropout's mask, scaling and gradient."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from backproplab.nn.gradcheck import check_gradients
from backproplab.nn.layers import ActivationLayer, BatchNorm, Dropout
from conftest import assert_close


def torch_bn(X, gamma, beta, training, running=None):
    """The same normalisation in torch, over all axes but the last (NHWC → NCHW for 4-D)."""
    x = torch.tensor(X, requires_grad=True)
    F = X.shape[-1]
    bn = (torch.nn.BatchNorm1d if X.ndim == 2 else torch.nn.BatchNorm2d)(F, dtype=torch.float64)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma.reshape(-1)))
        bn.bias.copy_(torch.tensor(beta.reshape(-1)))
        if running is not None:
            bn.running_mean.copy_(torch.tensor(running[0].reshape(-1)))
            bn.running_var.copy_(torch.tensor(running[1].reshape(-1)))
    bn.train(training)
    y = bn(x) if X.ndim == 2 else bn(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    return x, bn, y


@pytest.mark.parametrize("ndim", [2, 4])
@given(n=st.integers(2, 16), f=st.integers(1, 16), hw=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_training_mode_matches_torch(ndim, n, f, hw, seed):
    rng = np.random.default_rng(seed)
    shape = (n, f) if ndim == 2 else (n, hw, hw, f)
    X = rng.standard_normal(shape) * 3 + 1
    layer = BatchNorm()
    layer.forward(X)
    layer.parameters = {"gamma": rng.standard_normal((1, f)), "beta": rng.standard_normal((1, f))}
    layer.buffers = {"running_mean": np.zeros((1, f)), "running_var": np.ones((1, f))}
    Y = layer.forward(X)
    dY = rng.standard_normal(Y.shape)
    dX = layer.backward(dY)
    x, bn, y = torch_bn(X, layer.parameters["gamma"], layer.parameters["beta"], training=True)
    y.backward(torch.tensor(dY))
    assert_close(Y, y.detach().numpy(), what="forward")
    assert_close(dX, x.grad.numpy(), what="dX")
    assert_close(layer.gradients["gamma"].reshape(-1), bn.weight.grad.numpy(), what="dgamma")
    assert_close(layer.gradients["beta"].reshape(-1), bn.bias.grad.numpy(), what="dbeta")
    assert_close(layer.buffers["running_mean"].reshape(-1), bn.running_mean.numpy(), what="running mean")
    assert_close(layer.buffers["running_var"].reshape(-1), bn.running_var.numpy(), what="running var")


@given(n=st.integers(1, 16), f=st.integers(1, 16), seed=st.integers(0, 2**32 - 1))
def test_evaluation_mode_matches_torch(n, f, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, f))
    layer, relu = BatchNorm(), ActivationLayer("relu")
    layer.forward(rng.standard_normal((8, f)))
    layer.buffers["running_var"] = rng.uniform(0.5, 2, (1, f))
    layer.training = False
    Y = relu.forward(layer.forward(X))
    dY = rng.standard_normal(Y.shape)
    dX = layer.backward(relu.backward(dY))
    x, bn, y = torch_bn(X, layer.parameters["gamma"], layer.parameters["beta"], False,
                        (layer.buffers["running_mean"], layer.buffers["running_var"]))
    y = torch.relu(y)
    y.backward(torch.tensor(dY))
    assert_close(Y, y.detach().numpy(), what="eval forward")
    assert_close(dX, x.grad.numpy(), what="eval dX")


@given(n=st.integers(2, 5), f=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_finite_differences(n, f, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 2, f))
    layer = BatchNorm()
    dY = rng.standard_normal(layer.forward(X).shape)
    layer.parameters["gamma"] = rng.standard_normal((1, f))
    layer.forward(X)
    dX = layer.backward(dY)
    grads = {k: v.copy() for k, v in layer.gradients.items()}
    assert check_gradients(layer.forward, dX, X, dY) < 1e-7
    for name in ("gamma", "beta"):
        value = layer.parameters[name].copy()
        assert check_gradients(layer.forward_with_param(name, X), grads[name], value, dY) < 1e-7
        layer.parameters[name] = value


def test_batch_norm_keeps_float32_and_refuses_a_batch_of_one():
    layer = BatchNorm()
    X = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    assert layer.forward(X).dtype == np.float32 and layer.backward(np.ones_like(X)).dtype == np.float32
    with pytest.raises(ValueError, match="at least 2 values per feature"):
        layer.forward(X[:1])


def test_dropout_scales_kept_units_and_routes_the_gradient_through_the_mask():
    layer = Dropout(0.25, rng=np.random.default_rng(0))
    X = np.random.default_rng(1).standard_normal((200, 50))
    Y = layer.forward(X)
    kept = Y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(Y[kept], X[kept] / 0.75)
    dY = np.random.default_rng(2).standard_normal(X.shape)
    x = torch.tensor(X, requires_grad=True)
    (x * torch.tensor(kept / 0.75)).backward(torch.tensor(dY))
    assert_close(layer.backward(dY), x.grad.numpy(), what="dropout dX")
    layer.training = False
    np.testing.assert_array_equal(layer.forward(X), X)
    with pytest.raises(ValueError, match=r"p must be in \[0, 1\)"):
        Dropout(1.0)


def test_dropout_float32_mask_keeps_dtype():
    layer = Dropout(0.5, rng=np.random.default_rng(0))
    X = np.ones((4, 4), dtype=np.float32)
    assert layer.forward(X).dtype == np.float32


@given(n=st.integers(2, 6), f=st.integers(1, 5), seed=st.integers(0, 2**32 - 1),
       name=st.sampled_from(["relu", "tanh", "sigmoid", "linear"]))
def test_activation_layer_matches_torch_and_finite_differences(n, f, seed, name):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, f)) * 2
    layer = ActivationLayer(name)
    Y = layer.forward(X)
    dY = rng.standard_normal(Y.shape)
    dX = layer.backward(dY)
    x = torch.tensor(X, requires_grad=True)
    y = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "linear": lambda t: t}[name](x)
    y.backward(torch.tensor(dY))
    assert_close(Y, y.detach().numpy(), what=f"{name} forward")
    assert_close(dX, x.grad.numpy(), what=f"{name} dX")
    if name != "relu":  # relu's kink at 0 has no finite-difference derivative; the others are smooth
        assert check_gradients(layer.forward, dX, X, dY) < 1e-7
