"""Every activation against torch.autograd (float64, 1e-10) and finite differences."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from backproplab.nn.activations import ACTIVATIONS, initialize_activation
from backproplab.nn.gradcheck import check_gradients
from conftest import assert_close

TORCH = {
    "linear": lambda z: z,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "arctan": torch.atan,
    "softmax": lambda z: torch.softmax(z, dim=-1),
}
NAMES = list(TORCH)

shapes = st.tuples(st.integers(1, 64), st.integers(1, 64))


def torch_twin(name, Z, dY):
    z = torch.tensor(Z, requires_grad=True)
    y = TORCH[name](z)
    y.backward(torch.tensor(dY))
    return y.detach().numpy(), z.grad.numpy()


@pytest.mark.parametrize("name", NAMES)
@given(shape=shapes, seed=st.integers(0, 2**32 - 1), scale=st.sampled_from([1.0, 10.0]))
def test_matches_torch(name, shape, seed, scale):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal(shape) * scale
    dY = rng.standard_normal(shape)
    act = initialize_activation(name)
    y_ref, dz_ref = torch_twin(name, Z, dY)
    assert_close(act.forward(Z), y_ref, what=f"{name} forward")
    assert_close(act.backward(Z, dY), dz_ref, what=f"{name} backward")


@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_softmax_huge_logits_match_torch(shape, seed):
    rng = np.random.default_rng(seed)
    Z = rng.choice([-1e3, 1e3], size=shape) + rng.standard_normal(shape)
    dY = rng.standard_normal(shape)
    act = initialize_activation("softmax")
    S = act.forward(Z)
    assert np.all(np.isfinite(S)) and np.allclose(S.sum(axis=-1), 1.0)
    y_ref, dz_ref = torch_twin("softmax", Z, dY)
    assert_close(S, y_ref, what="softmax forward, logits ±1e3")
    assert_close(act.backward(Z, dY), dz_ref, what="softmax backward, logits ±1e3")


@pytest.mark.parametrize("name", NAMES)
@given(shape=st.tuples(st.integers(1, 6), st.integers(1, 6)), seed=st.integers(0, 2**32 - 1))
def test_finite_differences(name, shape, seed):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal(shape)
    if name == "relu":  # keep away from the kink, where the derivative does not exist
        Z = Z + np.sign(Z) * 1e-3
    dY = rng.standard_normal(shape)
    act = initialize_activation(name)
    assert check_gradients(act.forward, act.backward(Z, dY), Z, dY) < 1e-7


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name, rng):
    Z = rng.standard_normal((5, 7)).astype(np.float32)
    act = initialize_activation(name)
    assert act.forward(Z).dtype == np.float32
    assert act.backward(Z, np.ones_like(Z)).dtype == np.float32


def test_relu_is_elementwise_max_with_zero_subgradient():
    act = initialize_activation("relu")
    Z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(act.forward(Z), [[0.0, 0.0, 3.0]])
    np.testing.assert_array_equal(act.backward(Z, np.ones_like(Z)), [[0.0, 0.0, 1.0]])


def test_softmax_backward_is_the_batched_jacobian_product(rng):
    # the vectorised backward equals J(z)ᵀ dy row by row, J_ij = s_j (δ_ij − s_i) ...
    Z, dY = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    act = initialize_activation("softmax")
    S = act.forward(Z)
    rows = [(np.diag(s) - np.outer(s, s)) @ dy for s, dy in zip(S, dY)]
    assert_close(act.backward(Z, dY), np.array(rows), what="softmax backward vs explicit Jacobian")
    # ... and is written without a Python loop over the batch
    import inspect

    assert "for " not in inspect.getsource(type(act).backward)


def test_unknown_activation_names_the_choices():
    with pytest.raises(KeyError, match="unknown activation 'swish'.*relu"):
        initialize_activation("swish")


@pytest.mark.parametrize("name", NAMES)
def test_backward_shape_mismatch_is_a_clear_error(name):
    act = ACTIVATIONS[name]()
    with pytest.raises(ValueError, match=r"same shape.*\(2, 3\).*\(3, 2\)"):
        act.backward(np.zeros((2, 3)), np.zeros((3, 2)))
