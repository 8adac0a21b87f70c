"""BatchNorm against torch.nn.BatchNorm1d/2d (float64, 1e-10) and finite differences;
BatchNorm1D (the homework's conventions) against torch's batch_norm and the biased running
average; Dropout's mask, scaling and gradient."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from backproplab.nn.gradcheck import check_gradients
from backproplab.nn import NeuralNetwork
from backproplab.nn.layers import ActivationLayer, BatchNorm, BatchNorm1D, Dropout, initialize_layer
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
@given(n=st.integers(3, 16), f=st.integers(1, 16), hw=st.integers(1, 5), seed=st.integers(0, 2**32 - 1))
def test_training_mode_matches_torch(ndim, n, f, hw, seed):
    """n >= 3: two values per feature normalise to ±1 whatever they are, so their dX is ε-small
    and its relative error measures only the two libraries' rounding (it reached 1.6e-10)."""
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


# -- BatchNorm1D: the homework's running statistics ------------------------------------------


def torch_bn1d(X, layer, mode, running_mean):
    """torch's batch_norm on the same input: PyTorch's momentum is 1 − ours, and it updates
    ``running_mean`` in place in training; its running variance would be unbiased, so a
    throwaway one is passed and ours is checked against the biased average by hand."""
    x = torch.tensor(X, requires_grad=True)
    gamma, beta = (torch.tensor(layer.parameters[k].reshape(-1), requires_grad=True) for k in ("gamma", "beta"))
    running_var = torch.tensor(layer.buffers["running_var"].reshape(-1))
    y = torch.nn.functional.batch_norm(x, running_mean, running_var.clone(), gamma, beta, training=mode == "train",
                                       momentum=1 - layer.momentum, eps=layer.eps)
    return x, gamma, beta, y


@given(n=st.integers(1, 16), f=st.integers(1, 16), steps=st.integers(1, 4), momentum=st.floats(0, 1),
       seed=st.integers(0, 2**32 - 1))
def test_batchnorm1d_matches_torch_and_the_biased_running_average(n, f, steps, momentum, seed):
    rng = np.random.default_rng(seed)
    layer = BatchNorm1D(momentum=momentum)
    layer.forward(rng.standard_normal((n, f)), mode="test")  # creates γ, β and the zero running statistics
    layer.parameters = {"gamma": rng.standard_normal((1, f)), "beta": rng.standard_normal((1, f))}
    running_mean, running_var = torch.zeros(f, dtype=torch.float64), np.zeros((1, f))
    for step in range(steps):
        # torch refuses a training batch of one, and a batch of two normalises to ±1 whatever it
        # holds: its dX is ε-small and a relative error would measure rounding alone
        X = rng.standard_normal((n + 2, f)) * 3 + 1
        Y = layer.forward(X, mode="train")
        dY = rng.standard_normal(Y.shape)
        dX = layer.backward(dY)
        x, gamma, beta, y = torch_bn1d(X, layer, "train", running_mean)
        y.backward(torch.tensor(dY))
        running_var = momentum * running_var + (1 - momentum) * X.var(axis=0, keepdims=True)
        assert_close(Y, y.detach().numpy(), what=f"train forward, step {step}")
        assert_close(dX, x.grad.numpy(), what="train dX")
        assert_close(layer.gradients["gamma"], gamma.grad.numpy().reshape(1, f), what="dgamma")
        assert_close(layer.gradients["beta"], beta.grad.numpy().reshape(1, f), what="dbeta")
        assert_close(layer.buffers["running_mean"], running_mean.numpy().reshape(1, f), what="running mean")
        assert_close(layer.buffers["running_var"], running_var, what="running var (biased)")
    X = rng.standard_normal((n, f))
    layer.buffers["running_var"] = running_var = rng.uniform(0.5, 2, (1, f))  # away from 0, where 1/√ε is huge
    before = {k: v.copy() for k, v in layer.buffers.items()}
    Y = layer.forward(X, mode="test")
    dY = rng.standard_normal(Y.shape)
    dX = layer.backward(dY)
    x, gamma, beta, y = torch_bn1d(X, layer, "test", torch.tensor(before["running_mean"].reshape(-1)))
    y.backward(torch.tensor(dY))
    assert_close(Y, y.detach().numpy(), what="test forward")
    assert_close(dX, x.grad.numpy(), what="test dX")
    assert_close(layer.gradients["gamma"], gamma.grad.numpy().reshape(1, f), what="test dgamma")
    assert_close(layer.gradients["beta"], beta.grad.numpy().reshape(1, f), what="test dbeta")
    for k in before:
        np.testing.assert_array_equal(layer.buffers[k], before[k], err_msg=f"test mode changed {k}")


@pytest.mark.parametrize("mode", ["train", "test"])
@given(n=st.integers(3, 6), f=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))  # n = 2: dX is ε-small (above)
def test_batchnorm1d_finite_differences(mode, n, f, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, f))
    layer = BatchNorm1D(eps=1e-5)
    layer.forward(X, mode="train")
    layer.parameters["gamma"] = rng.standard_normal((1, f))
    layer.parameters["beta"] = rng.standard_normal((1, f))
    layer.buffers["running_var"] = rng.uniform(0.5, 2, (1, f))
    layer.training = mode == "train"  # forward(X) without a mode (as the checker calls it) follows the flag
    dY = rng.standard_normal((n, f))
    layer.forward(X, mode=mode)
    dX = layer.backward(dY)
    grads = {k: v.copy() for k, v in layer.gradients.items()}
    assert check_gradients(layer.forward, dX, X, dY) < 1e-7
    for name in ("gamma", "beta"):
        value = layer.parameters[name].copy()
        assert check_gradients(layer.forward_with_param(name, X), grads[name], value, dY) < 1e-7
        layer.parameters[name] = value


def test_batchnorm1d_defaults_and_the_homeworks_first_steps():
    """ε = 1e-8, α = 0.9, running statistics from zeros: after one batch they hold 0.1 of it."""
    layer = initialize_layer("batchnorm1d")
    assert isinstance(layer, BatchNorm1D) and (layer.eps, layer.momentum) == (1e-8, 0.9)
    X = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 40.0]])  # means 3, 20; biased variances 8/3, 200
    Y = layer.forward(X)  # no mode: train, as the homework's default
    np.testing.assert_allclose(layer.buffers["running_mean"], [[0.3, 2.0]])
    np.testing.assert_allclose(layer.buffers["running_var"], [[0.8 / 3, 20.0]])
    np.testing.assert_allclose(Y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(Y.var(axis=0), 1, rtol=1e-7)
    assert layer.parameters["gamma"].shape == layer.parameters["beta"].shape == (1, 2)
    layer.backward(np.ones_like(Y))
    assert layer.gradients["gamma"].shape == layer.gradients["beta"].shape == (1, 2)
    assert initialize_layer("batchnorm1d", momentum=0.95).momentum == 0.95
    one = BatchNorm1D().forward(np.array([[2.0, 3.0]]), mode="train")  # biased σ² = 0 is defined: Y = β
    np.testing.assert_array_equal(one, [[0.0, 0.0]])


def test_batchnorm1d_in_a_model_follows_the_evaluation_mode():
    rng = np.random.default_rng(0)
    model = NeuralNetwork([{"name": "fully_connected", "n_out": 4},
                           {"name": "batchnorm1d"}, {"name": "activation", "activation": "relu"},
                           {"name": "fully_connected", "n_out": 2, "activation": "softmax"}], seed=0)
    X = rng.standard_normal((8, 3))
    model.forward(X)
    bn = model.layers[1]
    Z = model.layers[0].forward(X)
    running = {k: v.copy() for k, v in bn.buffers.items()}
    model.set_training(False)
    np.testing.assert_allclose(bn.forward(Z), bn.forward(Z, mode="test"))
    np.testing.assert_array_equal(bn.buffers["running_mean"], running["running_mean"])
    assert set(model.state_dict()) >= {"1.gamma", "1.beta", "1.running_mean", "1.running_var"}


def test_batchnorm1d_bad_inputs_are_clear_errors():
    layer = BatchNorm1D()
    with pytest.raises(ValueError, match=r"mode must be 'train' or 'test'; got 'eval'"):
        layer.forward(np.zeros((2, 3)), mode="eval")
    with pytest.raises(ValueError, match=r"2-D input \(batch, features\); got shape \(2, 3, 4\)"):
        layer.forward(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="floating-point input"):
        layer.forward(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"BatchNorm1D momentum must be in \[0, 1\]"):
        BatchNorm1D(momentum=1.5)
    with pytest.raises(RuntimeError, match="backward called before forward"):
        layer.backward(np.zeros((2, 3)))
    layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"initialised for inputs with features \(3,\); got \(4,\)"):
        layer.forward(np.zeros((2, 4)))


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
