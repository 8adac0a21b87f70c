"""Initialisers: the documented distributions, seeded draws, and clear errors."""

import numpy as np
import pytest

from backproplab.nn.weights import INITIALISERS, fans, initialize_weights

SHAPE = (400, 300)  # fan_in 400, fan_out 300


@pytest.mark.parametrize(
    "name, activation, expected_std",
    [
        ("uniform", "linear", (1 / np.sqrt(400)) / np.sqrt(3)),
        ("normal", "linear", 1 / np.sqrt(400)),
        ("xavier_uniform", "linear", np.sqrt(6 / 700) / np.sqrt(3)),
        ("xavier_uniform", "tanh", 5 / 3 * np.sqrt(6 / 700) / np.sqrt(3)),
        ("xavier_normal", "relu", np.sqrt(2) * np.sqrt(2 / 700)),
        ("he_uniform", "relu", np.sqrt(6 / 400) / np.sqrt(3)),
        ("he_normal", "relu", np.sqrt(2 / 400)),
    ],
)
def test_standard_deviation_matches_the_formula(name, activation, expected_std):
    W = initialize_weights(name, activation)(SHAPE, rng=np.random.default_rng(0))
    assert W.shape == SHAPE
    assert abs(W.mean()) < 3 * expected_std / np.sqrt(W.size) + 1e-12
    assert W.std() == pytest.approx(expected_std, rel=0.02)


def test_constants_and_dtype():
    assert not initialize_weights("zeros")((3, 2)).any()
    assert (initialize_weights("ones")((3, 2)) == 1).all()
    assert initialize_weights("he_normal", "relu")((3, 2), dtype=np.float32).dtype == np.float32


@pytest.mark.parametrize("name", sorted(INITIALISERS))
def test_the_generator_fixes_every_draw(name):
    init = initialize_weights(name, "relu")
    a = init((5, 4), rng=np.random.default_rng(7))
    b = init((5, 4), rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


def test_conv_fans_follow_torch():
    assert fans((3, 5, 4, 8)) == (3 * 5 * 4, 3 * 5 * 8)
    assert fans((10, 20)) == (10, 20)


def test_unknown_names_are_key_errors():
    with pytest.raises(KeyError, match="unknown weight initialiser 'kaiming'"):
        initialize_weights("kaiming")
    with pytest.raises(KeyError, match="unknown activation 'elu'"):
        initialize_weights("xavier_uniform", "elu")
